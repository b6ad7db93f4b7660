/**
 * A clamped hold is the worst case of the clamped request. With the output clamp, a user whose budget cannot cover
 * the client's max output gets a hold of what is left, and the provider is sent the most output whose worst case
 * fits in it; the hold is then lowered to that worst case. An answer without a usage is charged its whole hold:
 * what its recorded tokens (the held input, the clamped output) cost, never the budget's remainder. Here output
 * costs 1,000 micro-USD a token and the budget leaves 999 micro-USD past the 300th output token, which the
 * request was billed for output the provider was never allowed to write.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'

let mock: MockProvider
let gw: TestGateway
beforeAll(async () => {
  mock = startMockProvider({ latencyMs: 1 })
  gw = await startTestGateway({
    mock,
    config: { log_level: 'silent', clamp_output: true, pricing: { 'mock:gpt-mock': { input_per_million: 1, output_per_million: 1000 } } },
  })
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})

const body = JSON.stringify({ model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'Tell me about lighthouses.' }], max_tokens: 10_000 })
const send = (secret: string) =>
  fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body })
const rowOf = (user: string) =>
  gw.query<{ cost: number; reserved: number; prompt_tokens: number; completion_tokens: number }>(
    'SELECT cost, reserved, prompt_tokens, completion_tokens FROM usage WHERE user_id = ? ORDER BY id DESC LIMIT 1',
    user,
  )[0]!

test('a clamped hold charged whole costs what its recorded tokens cost, no more than the provider could bill', async () => {
  // The input the hold counts for this body, as an unclamped whole-hold charge records it.
  const rich = (await gw.userWithKey({ id: 'rich' })).secret
  mock.queue('no-usage')
  expect((await send(rich)).status).toBe(200)
  await gw.settled()
  const input = rowOf('rich').prompt_tokens
  expect(rowOf('rich').completion_tokens).toBe(10_000)

  // A budget of that input, 300 output tokens, and 999 micro-USD more: too little for a 301st token.
  const budgetMicros = input * 1 + 300 * 1000 + 999
  const poor = (await gw.userWithKey({ id: 'poor', max_budget: budgetMicros / 1e6 })).secret
  mock.queue('no-usage')
  const res = await send(poor)
  expect(res.status).toBe(200)
  expect(res.headers.get('x-output-clamped')).toBe('300')
  await res.text()
  await gw.settled()
  const row = rowOf('poor')
  expect({ prompt_tokens: row.prompt_tokens, completion_tokens: row.completion_tokens }).toEqual({ prompt_tokens: input, completion_tokens: 300 })
  // Billed what its tokens cost at the price: the worst case of what the provider was sent, not the budget's remainder.
  expect(row.cost).toBe(1 * row.prompt_tokens + 1000 * row.completion_tokens)
})
