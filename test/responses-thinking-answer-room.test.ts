import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test'
import OpenAI from 'openai'
import { responsesRequestToMessages } from '../src/translate/responses/request-to-messages'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'

/**
 * A Responses `reasoning.effort` translated to an Anthropic thinking budget must leave room for the answer:
 * Claude counts its thinking in `max_tokens`, so a budget of 4095 under the default `max_tokens` 4096 (what
 * a request without `max_output_tokens` got) leaves it one token to answer with, and a real Claude that
 * thinks its whole budget stops there (incomplete, no text). Without `max_output_tokens`, `max_tokens` is the
 * effort's budget plus the default max output; the hold covers that `max_tokens`, as sent.
 */
const MODEL = 'claude-sonnet-4-5-20250929'
const DEFAULT_MAX_OUTPUT = 4096
const OUTPUT_MICRO_USD_PER_TOKEN = 20

describe('Responses → Anthropic without max_output_tokens: max_tokens is the thinking budget plus the default answer', () => {
  const translated = (effort: string) =>
    responsesRequestToMessages({ input: 'hi', reasoning: { effort } }, { defaultMaxOutputTokens: DEFAULT_MAX_OUTPUT, upstreamModel: MODEL }).request

  test('each effort keeps its whole budget, and the answer the default max output', () => {
    for (const [effort, budget] of [['minimal', 1024], ['low', 2048], ['medium', 8192], ['high', 16384]] as const)
      expect(translated(effort)).toMatchObject({ max_tokens: budget + DEFAULT_MAX_OUTPUT, thinking: { type: 'enabled', budget_tokens: budget } })
  })

  test("xhigh stays within 32,000 tokens (Opus 4's max output), the answer keeping the default", () => {
    expect(translated('xhigh')).toMatchObject({ max_tokens: 32_000, thinking: { type: 'enabled', budget_tokens: 32_000 - DEFAULT_MAX_OUTPUT } })
  })

  test('adaptive thinking (Claude 4.6 and later) has no budget: max_tokens stays the default', () => {
    const request = responsesRequestToMessages({ input: 'hi', reasoning: { effort: 'high' } }, { defaultMaxOutputTokens: DEFAULT_MAX_OUTPUT, upstreamModel: 'claude-sonnet-4-6' }).request
    expect(request).toMatchObject({ max_tokens: DEFAULT_MAX_OUTPUT, thinking: { type: 'adaptive' }, output_config: { effort: 'high' } })
  })
})

describe('through the gateway', () => {
  let mock: MockProvider
  let gw: TestGateway
  let client: OpenAI

  beforeAll(async () => {
    mock = startMockProvider()
    gw = await startTestGateway({ mock, config: { pricing: { [`mockant:${MODEL}`]: { input_per_million: 4, output_per_million: OUTPUT_MICRO_USD_PER_TOKEN } } } })
    const { secret } = await gw.userWithKey({ id: 'room', max_budget: 1 })
    client = new OpenAI({ apiKey: secret, baseURL: `${gw.url}/v1`, maxRetries: 0 })
  })
  afterAll(async () => {
    await gw.stop()
    await mock.stop()
  })
  beforeEach(() => mock.reset())

  test('effort high: Claude gets room to answer after thinking, and the hold covers the max_tokens sent', async () => {
    const { response } = await client.responses.create({ model: `mockant:${MODEL}`, input: 'Think, then answer.', reasoning: { effort: 'high' } }).withResponse()
    const sent = mock.calls.find((c) => c.path === '/v1/messages')!.body as { max_tokens: number; thinking: { budget_tokens: number } }
    expect(sent.thinking.budget_tokens).toBe(16384)
    expect(sent.max_tokens - sent.thinking.budget_tokens).toBe(DEFAULT_MAX_OUTPUT)
    const heldMicroUsd = Math.round((1 - Number(response.headers.get('x-budget-remaining'))) * 1e6)
    expect(heldMicroUsd).toBeGreaterThanOrEqual(sent.max_tokens * OUTPUT_MICRO_USD_PER_TOKEN)
  })
})
