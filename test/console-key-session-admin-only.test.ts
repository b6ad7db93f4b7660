/**
 * Red team (jr): README "Admin console" says a key's session "can read /v1/key and /v1/key/usage and sign out,
 * nothing else (403 `read_only_session`, and 403 `admin_only` on the admin API)". On the admin API it is
 * `read_only_session` too: the session check (src/console/session-auth.ts, sessionOf) refuses every path outside
 * /v1/key before the caller is admitted, so `admit`'s `admin_only` is never reached for a session. A script or the
 * console telling "this route is for admins" from "this session cannot change things" by the documented code is misled.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { startMockProvider, type MockProvider } from './support/mock-provider'

let mock: MockProvider
let gw: TestGateway
beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock })
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})

test("a key's console session reading the admin API is refused 403 admin_only, as README says", async () => {
  const { secret } = await gw.userWithKey({ id: 'reader' })
  const signIn = await fetch(`${gw.url}/v1/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: gw.url },
    body: JSON.stringify({ key: secret }),
  })
  expect(signIn.status).toBe(200)
  const cookie = signIn.headers.get('set-cookie')!.split(';', 1)[0]!
  const codes: Record<string, string> = {}
  for (const path of ['/v1/users', '/v1/keys', '/v1/usage', '/v1/pricing']) {
    const res = await fetch(gw.url + path, { headers: { cookie } })
    const body: any = await res.json()
    codes[path] = `${res.status} ${body.error?.code}`
  }
  // The same key as a header gets admin_only on these routes.
  const header = await fetch(`${gw.url}/v1/users`, { headers: { authorization: `Bearer ${secret}` } })
  expect(`${header.status} ${((await header.json()) as any).error?.code}`).toBe('403 admin_only')
  expect(codes).toEqual({
    '/v1/users': '403 admin_only',
    '/v1/keys': '403 admin_only',
    '/v1/usage': '403 admin_only',
    '/v1/pricing': '403 admin_only',
  })
})
