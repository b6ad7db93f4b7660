import { afterAll, beforeAll, beforeEach, expect, test } from 'bun:test'
import OpenAI from 'openai'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'

/**
 * README "Output clamp": "A chat request with `n > 1` is not clamped (how to split the output between choices is the
 * provider's): it gets a 402 as before." The clamp's output is the hold's output, n choices' worth, but it is sent
 * upstream as a per-choice max: a clamp on `n: 4` sends 4 × what the hold covers. Guards the `clampable` condition of
 * the chat route (src/routes/chat.ts): a budget that cannot cover n × max_tokens is refused, the provider never called.
 */
const PRICE = { input_per_million: 3, output_per_million: 15 }

let mock: MockProvider
let gw: TestGateway

beforeAll(async () => {
  mock = startMockProvider({ completionText: Array.from({ length: 5000 }, (_, i) => `w${i}`).join(' ') })
  gw = await startTestGateway({ mock, config: { clamp_output: true, pricing: { 'mock:gpt-mock': PRICE } } })
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})
beforeEach(() => mock.reset())

test('chat with n: 4 on a budget short of 4 × max_tokens is a 402, not a clamped max sent per choice', async () => {
  // ~$0.0046: room for ~300 output tokens in all, far short of 4 × 4000.
  const { secret, keyId } = await gw.userWithKey({ id: 'n', max_budget: 0.0046 })
  const openai = new OpenAI({ apiKey: secret, baseURL: `${gw.url}/v1`, maxRetries: 0 })
  const result = await openai.chat.completions
    .create({ model: 'mock:gpt-mock', n: 4, max_tokens: 4000, messages: [{ role: 'user', content: 'write a lot' }] })
    .withResponse()
    .then(({ response }) => ({ status: response.status, clamped: response.headers.get('x-output-clamped') }))
    .catch((e: { status?: number }) => ({ status: e.status, clamped: null }))
  await gw.settled()
  const sent = mock.calls[0]?.body as { max_tokens?: number; n?: number } | undefined
  const [row] = gw.query('SELECT reserved FROM usage WHERE key_id = ?', keyId)
  // What was sent upstream, if anything: its worst-case output (n × the per-choice max) must be within the hold.
  const sentOutput = sent ? (sent.n ?? 1) * (sent.max_tokens ?? Infinity) : 0
  expect({ status: result.status, clamped: result.clamped, calls: mock.calls.length }).toEqual({ status: 402, clamped: null, calls: 0 })
  expect(sentOutput * PRICE.output_per_million).toBeLessThanOrEqual(row?.reserved ?? 0)
})
