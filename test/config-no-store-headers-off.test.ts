/**
 * Mutation guard: README "Edge" — every `/v1/*` answer is
 * `Cache-Control: no-store`, "kept with the security headers off" (TOLLGATE_DISABLE_SECURITY_HEADERS, for an
 * operator whose proxy sets its own). A console request carries its session in a cookie, so a shared cache in
 * front of the gateway could otherwise keep an admin list or a new key's secret and hand it to anyone asking the
 * same URL. edge-headers.test.ts checks the other headers are removed; this checks that this one is not.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { startMockProvider, type MockProvider } from './support/mock-provider'

let mock: MockProvider
let gw: TestGateway
beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock, config: { disable_security_headers: true } })
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})

test('security headers off: an admin list, a new key and a 401 are still no-store; the security headers are gone', async () => {
  const users = await gw.admin('GET', '/v1/users')
  expect(users.status).toBe(200)
  // The control: the setting did take effect.
  expect(users.headers.get('x-content-type-options')).toBeNull()
  expect(users.headers.get('cache-control')).toBe('no-store')

  expect((await gw.admin('POST', '/v1/users', { id: 'headers-off', max_budget: 1 })).status).toBe(201)
  const key = await gw.admin('POST', '/v1/keys', { user_id: 'headers-off' })
  expect(key.status).toBe(201)
  expect(key.headers.get('cache-control')).toBe('no-store')

  const refused = await fetch(`${gw.url}/v1/models`)
  expect(refused.status).toBe(401)
  expect(refused.headers.get('cache-control')).toBe('no-store')
})
