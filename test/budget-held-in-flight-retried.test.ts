import { afterAll, beforeAll, expect, test } from 'bun:test'
import OpenAI from 'openai'
import Anthropic from '@anthropic-ai/sdk'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'

/**
 * A user whose budget covers its requests one at a time, but not two holds at once (an agent's parallel tool calls
 * or subagents): the second concurrent request gets 402 `budget_exceeded` only because the first one's worst-case
 * hold is still reserved. Once the first settles at its real (tiny) cost the same request fits, so that 402 says
 * `x-should-retry: true` with `Retry-After`, and the SDK's own retry gets it through.
 */
let mock: MockProvider
let gw: TestGateway
const PRICING = { 'mock:gpt-mock': { input_per_million: 2, output_per_million: 8 }, 'mockant:claude-mock': { input_per_million: 2, output_per_million: 8 } }

beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock, config: { pricing: PRICING } })
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})

for (const sdk of ['openai', 'anthropic'] as const)
  test(`${sdk} SDK: two parallel requests on a budget that holds one at a time both get their answer`, async () => {
    // One hold: 2,000 output tokens at $8/M = $0.016 (+ a little input). Two do not fit in $0.025; each costs ~$0.0001.
    const { secret } = await gw.userWithKey({ id: `parallel-${sdk}`, max_budget: 0.025 })
    mock.reset()
    mock.options = { ...mock.options, latencyMs: 600 }
    const statuses: number[] = []
    const shouldRetry: Array<string | null> = []
    const watching = Object.assign(async (input: string | URL | Request, init?: RequestInit) => {
      const res = await fetch(input, init)
      statuses.push(res.status)
      if (res.status === 402) shouldRetry.push(res.headers.get('x-should-retry'))
      return res
    }, { preconnect: fetch.preconnect })
    const one = () =>
      sdk === 'openai'
        ? new OpenAI({ apiKey: secret, baseURL: `${gw.url}/v1`, fetch: watching }).chat.completions
            .create({ model: 'mock:gpt-mock', max_tokens: 2000, messages: [{ role: 'user', content: 'hi' }] })
            .then(() => 'answered', (e) => `${e.status} ${e.message}`)
        : new Anthropic({ apiKey: secret, baseURL: gw.url, fetch: watching }).messages
            .create({ model: 'mockant:claude-mock', max_tokens: 2000, messages: [{ role: 'user', content: 'hi' }] })
            .then(() => 'answered', (e) => `${e.status} ${e.message}`)
    const results = await Promise.all([one(), one()])
    await gw.settled()
    const user = (await gw.admin('GET', `/v1/users/parallel-${sdk}`)).body
    // The refusal was for the holds in flight alone: the budget is almost untouched.
    expect(user.spend).toBeLessThan(0.001)
    expect(statuses).toContain(402)
    expect({ results, shouldRetry: shouldRetry[0] }).toEqual({ results: ['answered', 'answered'], shouldRetry: 'true' })
  }, 30_000)
