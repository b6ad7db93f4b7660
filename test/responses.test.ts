import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test'
import OpenAI from 'openai'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'

/**
 * Whole-number rates (USD per million tokens = micro-USD per token): a response costs exactly
 * (input − cached) × 2 + cached × 1 + output × 3 micro-USD.
 */
const PRICING = { 'mock:gpt-mock': { input_per_million: 2, cached_input_per_million: 1, output_per_million: 3 } }
const TEXT = 'Hello from the mock provider.'
const WEATHER = {
  type: 'function' as const,
  name: 'get_weather',
  description: 'Current weather for a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false },
  strict: true,
}

let mock: MockProvider
let gw: TestGateway
let client: OpenAI

beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock, config: { pricing: PRICING } })
  const { secret } = await gw.userWithKey({ id: 'team-resp', max_budget: 10 })
  client = new OpenAI({ apiKey: secret, baseURL: `${gw.url}/v1`, maxRetries: 0 })
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})
beforeEach(() => mock.reset())

interface UsageRow {
  endpoint: string
  prompt_tokens: number
  completion_tokens: number
  cached_tokens: number
  cost: number
  status: string
  stream: number
}

async function spend(): Promise<{ spend: number; reserved: number }> {
  await gw.settled()
  return (await gw.admin('GET', '/v1/users/team-resp')).body
}

/** Runs a request and returns the usage row it wrote and what the user's spend moved by (micro-USD). */
async function billed<T>(run: () => Promise<T>): Promise<{ result: T; row: UsageRow; charged: number }> {
  const before = await spend()
  const result = await run()
  await gw.settled()
  const row = gw.query<UsageRow>(
    'SELECT endpoint, prompt_tokens, completion_tokens, cached_tokens, cost, status, stream FROM usage ORDER BY id DESC LIMIT 1',
  )[0]!
  const after = await spend()
  expect(after.reserved).toBe(0)
  return { result, row, charged: Math.round((after.spend - before.spend) * 1e6) }
}

const costOf = (u: { input_tokens: number; input_tokens_details: { cached_tokens: number }; output_tokens: number }) =>
  (u.input_tokens - u.input_tokens_details.cached_tokens) * 2 + u.input_tokens_details.cached_tokens * 1 + u.output_tokens * 3

describe('POST /v1/responses to an OpenAI-type provider (passed through)', () => {
  test('JSON: relayed as it came, billed from its usage, cached input at the cached rate and reasoning inside output', async () => {
    mock.options.cachedTokens = 4
    const { result, row, charged } = await billed(() =>
      client.responses.create({ model: 'mock:gpt-mock', input: 'Say hello to everyone in the room please', reasoning: { effort: 'low' } }),
    )
    expect(result.output_text).toBe(TEXT)
    expect(result.usage!.output_tokens_details.reasoning_tokens).toBe(4)
    expect(result.usage!.output_tokens).toBe(4 + 5)
    expect(result.usage!.input_tokens_details.cached_tokens).toBe(4)
    expect(row).toMatchObject({ endpoint: '/v1/responses', prompt_tokens: result.usage!.input_tokens, completion_tokens: 9, cached_tokens: 4, status: 'ok', stream: 0 })
    expect(charged).toBe(costOf(result.usage!))
    const call = mock.calls.at(-1)!
    expect(call.path).toBe('/v1/responses')
    expect((call.body as any).model).toBe('gpt-mock')
  })

  test('SSE through the SDK stream helper: every event passed on, billed from response.completed', async () => {
    const { result, row, charged } = await billed(async () => {
      const stream = client.responses.stream({ model: 'mock:gpt-mock', input: 'hi' })
      const types: string[] = []
      for await (const event of stream) types.push(event.type)
      return { types, final: await stream.finalResponse() }
    })
    expect(result.types[0]).toBe('response.created')
    expect(result.types.at(-1)).toBe('response.completed')
    expect(result.types).toContain('response.output_text.delta')
    expect(result.final.output_text).toBe(TEXT)
    expect(row).toMatchObject({ status: 'ok', stream: 1, completion_tokens: 5 })
    expect(charged).toBe(costOf(result.final.usage!))
  })

  test('a stream ended by response.incomplete (max_output_tokens) is billed from its usage', async () => {
    const { result, row, charged } = await billed(async () => {
      const stream = await client.responses.create({ model: 'mock:gpt-mock', input: 'hi', max_output_tokens: 3, stream: true })
      let last: any
      for await (const event of stream) last = event
      return last
    })
    expect(result.type).toBe('response.incomplete')
    expect(result.response.incomplete_details).toEqual({ reason: 'max_output_tokens' })
    expect(row).toMatchObject({ status: 'ok', completion_tokens: 3 })
    expect(charged).toBe(costOf(result.response.usage))
  })

  test('a stream ended by response.failed is billed from the usage it reports, recorded as an error', async () => {
    mock.queue('response-failed')
    const { result, row, charged } = await billed(async () => {
      const stream = await client.responses.create({ model: 'mock:gpt-mock', input: 'hi', stream: true })
      let last: any
      for await (const event of stream) last = event
      return last
    })
    expect(result.type).toBe('response.failed')
    expect(result.response.usage.output_tokens).toBeGreaterThan(0)
    expect(row).toMatchObject({ status: 'error', completion_tokens: result.response.usage.output_tokens })
    expect(charged).toBe(costOf(result.response.usage))
  })

  test('background: true is refused with a 400 before anything is held or sent', async () => {
    const res = await client.responses.create({ model: 'mock:gpt-mock', input: 'hi', background: true }).catch((e) => e)
    expect(res).toBeInstanceOf(OpenAI.BadRequestError)
    expect(res.code).toBe('background_unsupported')
    expect(mock.calls.length).toBe(0)
  })
})
