import { afterAll, beforeAll, expect, test } from 'bun:test'
import OpenAI from 'openai'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'

/**
 * README (estimate; translation): the hold of a translated request is the larger of its estimate as sent and as the
 * provider receives it (`largerEstimate`, src/budget/estimate.ts). A chat request with `reasoning_effort: "high"` and no
 * max, to a Claude model that takes a thinking budget, goes upstream with `max_tokens` = budget + the default
 * (16,384 + 4,096): the hold must cover that output, not the default the chat body alone implies. Guards the output
 * side of `largerEstimate`.
 */
const PRICE = { input_per_million: 3, output_per_million: 15 }

let mock: MockProvider
let gw: TestGateway

beforeAll(async () => {
  mock = startMockProvider({ completionText: 'ok' })
  gw = await startTestGateway({ mock, config: { pricing: { 'mockant:claude-sonnet': PRICE } } })
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})

test('chat → Anthropic with reasoning_effort and no max: the hold covers the max_tokens sent upstream', async () => {
  const { secret, keyId } = await gw.userWithKey({ id: 'effort', max_budget: 10 })
  const openai = new OpenAI({ apiKey: secret, baseURL: `${gw.url}/v1`, maxRetries: 0 })
  await openai.chat.completions.create({ model: 'mockant:claude-sonnet', reasoning_effort: 'high', messages: [{ role: 'user', content: 'think' }] })
  await gw.settled()
  const sent = mock.calls[0]!.body as { max_tokens: number; thinking?: { budget_tokens: number } }
  expect(sent.thinking?.budget_tokens).toBeGreaterThan(4096)
  const [row] = gw.query('SELECT reserved FROM usage WHERE key_id = ?', keyId)
  // micro-USD: output at $15/M is 15 micro-USD a token.
  expect(row.reserved).toBeGreaterThanOrEqual(sent.max_tokens * PRICE.output_per_million)
})
