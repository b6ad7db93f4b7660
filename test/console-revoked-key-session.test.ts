/**
 * Mutation guard: README "A key's session ... ends as soon as its key is
 * revoked, rotated or expires ... (each checked on every request, against the database)". Revoking a key only sets
 * its revoked_at (the session row stays), so the session's own check (src/console/sessions.ts keyHolds) is what ends
 * it. The existing test read only GET /v1/key, whose handler refuses a revoked key by itself: with that check gone,
 * the session stayed signed in: GET /v1/session said `kind: key` and gave a CSRF token (its routes refused it only
 * because each handler looks the key up again).
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

test("a revoked key's console session has ended: GET /v1/session says so, and /v1/key/usage is refused 401", async () => {
  const { secret, keyId } = await gw.userWithKey({ id: 'revoked-session' })
  const res = await fetch(`${gw.url}/v1/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: gw.url },
    body: JSON.stringify({ key: secret }),
  })
  expect(res.status).toBe(200)
  const cookie = res.headers.get('set-cookie')!.split(';', 1)[0]!
  const read = async (path: string) => {
    const r = await fetch(gw.url + path, { headers: { cookie } })
    return { status: r.status, body: (await r.json()) as any }
  }
  expect((await read('/v1/key/usage')).status).toBe(200)
  expect((await read('/v1/session')).body.kind).toBe('key')
  expect((await gw.admin('DELETE', `/v1/keys/${keyId}`)).status).toBe(200)
  const after = { session: (await read('/v1/session')).body, usage: (await read('/v1/key/usage')).status }
  expect(after).toEqual({ session: { kind: null }, usage: 401 })
})
