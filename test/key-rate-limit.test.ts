/**
 * SPEC §7: the per-IP limit is counted before authentication, and "each key may add its own `rpm_limit`"; every
 * answer carries X-RateLimit-*, and when both limits apply they describe the tighter one (src/plugins/rate-limit.ts),
 * which is the one a client must pace itself by. A key's limit is its own: two keys of one user each get theirs.
 */
import { afterAll, beforeAll, beforeEach, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'

let mock: MockProvider
let gw: TestGateway

beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock, config: { rate_limit_per_min: 1000 } })
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})
beforeEach(() => mock.reset())

const models = async (secret: string) => {
  const res = await fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } })
  await res.arrayBuffer()
  return { status: res.status, limit: res.headers.get('x-ratelimit-limit'), remaining: res.headers.get('x-ratelimit-remaining') }
}

test("with a loose per-IP limit, the headers describe the key's tighter rpm_limit", async () => {
  const { secret } = await gw.userWithKey({ id: 'tighter' }, { rpm_limit: 3 })
  expect(await models(secret)).toEqual({ status: 200, limit: '3', remaining: '2' })
  expect(await models(secret)).toEqual({ status: 200, limit: '3', remaining: '1' })
})

test("two keys of one user: each key's rpm_limit is counted on its own", async () => {
  const { secret: first } = await gw.userWithKey({ id: 'two-keys' }, { rpm_limit: 2 })
  const second = await gw.admin('POST', '/v1/keys', { user_id: 'two-keys', rpm_limit: 2 })
  expect(second.status).toBe(201)
  expect((await models(first)).status).toBe(200)
  expect((await models(first)).status).toBe(200)
  expect((await models(first)).status).toBe(429)
  expect(await models(second.body.key)).toEqual({ status: 200, limit: '2', remaining: '1' })
})
