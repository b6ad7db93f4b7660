/**
 * Mutation guard: README "A key's session is read-only: it can read
 * /v1/key and /v1/key/usage and sign out, nothing else". Every sign-out test signed out an admin session: with the
 * key session's exception for DELETE /v1/session gone (src/console/session-auth.ts sessionOf), a key holder's
 * "Sign out" was refused 403 read_only_session and the session stayed live on that browser, and no test failed.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'

let gw: TestGateway

beforeAll(async () => {
  gw = await startTestGateway({ config: { console_sign_ins_per_min: 1000 } })
})
afterAll(async () => {
  await gw.stop()
})

test("a key's read-only session signs out: the session ends and its cookie is cleared", async () => {
  const { secret } = await gw.userWithKey({ id: 'key-signs-out' })
  const res = await fetch(`${gw.url}/v1/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: gw.url },
    body: JSON.stringify({ key: secret }),
  })
  expect(res.status).toBe(200)
  const { csrf_token: csrf, kind } = (await res.json()) as any
  expect(kind).toBe('key')
  const cookie = res.headers.get('set-cookie')!.split(';', 1)[0]!
  const out = await fetch(`${gw.url}/v1/session`, { method: 'DELETE', headers: { cookie, origin: gw.url, 'x-csrf-token': csrf } })
  expect({ status: out.status, body: await out.json() }).toEqual({ status: 200, body: { signed_out: true } })
  expect(out.headers.get('set-cookie')).toContain('Max-Age=0')
  const after = await fetch(`${gw.url}/v1/session`, { headers: { cookie } })
  expect(await after.json()).toEqual({ kind: null })
  expect((await fetch(`${gw.url}/v1/key`, { headers: { cookie } })).status).toBe(401)
})
