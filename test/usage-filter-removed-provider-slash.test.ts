/**
 * A usage filter's `provider/model` stands for `provider:model` (SPEC §3) also for a provider since removed from
 * the config: rows keep the colon spelling, so `?model=gone/old-model` matches the rows of `gone:old-model` on the
 * list and its summary alike.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'

let mock: MockProvider
let gw: TestGateway

beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock })
  await gw.userWithKey({ id: 'removed-provider', max_budget: 10 })
  gw.exec(
    `INSERT INTO usage (request_id, created_at, user_id, key_id, model, provider, endpoint, prompt_tokens, completion_tokens, cost, reserved, status)
     VALUES ('removed-1', ?, 'removed-provider', NULL, 'gone:old-model', 'gone', '/v1/chat/completions', 1, 1, 3, 3, 'ok')`,
    Date.now(),
  )
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})

test("a removed provider's rows match its provider/model spelling as they match provider:model", async () => {
  const colon = await gw.admin('GET', '/v1/usage?model=gone:old-model')
  expect(colon.body.data.map((r: any) => r.model)).toEqual(['gone:old-model'])
  const slash = await gw.admin('GET', '/v1/usage?model=gone/old-model')
  expect(slash.status).toBe(200)
  expect(slash.body.data.map((r: any) => r.model)).toEqual(['gone:old-model'])
  expect((await gw.admin('GET', '/v1/usage/summary?model=gone/old-model')).body.totals.requests).toBe(1)
})
