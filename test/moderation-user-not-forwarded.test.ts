import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'

/**
 * On /v1/moderations `user` only names who pays (src/routes/moderations.ts: "OpenAI's moderation API has no such
 * field"): the master key must send it on every call (`user_required` otherwise), and OpenAI refuses a request
 * argument it does not know (400 "Unrecognized request argument supplied: user"). Forwarded, every master-key
 * moderation would fail upstream, and the billing user's id would go to the provider. No existing test looks at
 * the moderation body sent upstream with a `user`.
 */
let mock: MockProvider
let gw: TestGateway

beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock, config: { pricing: { 'mock:omni-moderation-latest': { input_per_million: 0, output_per_million: 0, per_request: 0.0001 } } } })
  await gw.userWithKey({ id: 'mod', max_budget: 1 })
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})

test('the master key naming the user to bill: served and billed to that user, `user` not sent to the provider', async () => {
  mock.reset()
  const res = await fetch(`${gw.url}/v1/moderations`, {
    method: 'POST',
    headers: { ...gw.master, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'mock:omni-moderation-latest', input: 'hello', user: 'mod' }),
  })
  expect(res.status).toBe(200)
  await res.text()
  const sent = mock.calls.filter((c) => c.path === '/v1/moderations').map((c) => Object.keys(c.body as object).sort())
  expect(sent).toEqual([['input', 'model']])
  await gw.settled()
  expect(gw.query<{ user_id: string; cost: number }>('SELECT user_id, cost FROM usage ORDER BY id DESC LIMIT 1')).toEqual([{ user_id: 'mod', cost: 100 }])
})
