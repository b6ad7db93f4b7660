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
    const { result: { data: result, response }, row, charged } = await billed(() =>
      client.responses.create({ model: 'mock:gpt-mock', input: 'Say hello to everyone in the room please', reasoning: { effort: 'low' } }).withResponse(),
    )
    expect(Number(response.headers.get('x-budget-remaining'))).toBeLessThan(10)
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

  test('a key bills its own user: a body naming another is refused (403 user_mismatch), as on chat', async () => {
    const error = await client.responses.create({ model: 'mock:gpt-mock', input: 'hi', user: 'someone-else' }).then(() => null, (e) => e)
    expect(error.status).toBe(403)
    expect(error.code).toBe('user_mismatch')
  })

  test('background: true is refused with a 400 before anything is held or sent', async () => {
    const res = await client.responses.create({ model: 'mock:gpt-mock', input: 'hi', background: true }).catch((e) => e)
    expect(res).toBeInstanceOf(OpenAI.BadRequestError)
    expect(res.code).toBe('background_unsupported')
    expect(mock.calls.length).toBe(0)
  })
})

describe('stored responses belong to the user that made them', () => {
  let other: OpenAI
  beforeAll(async () => {
    const { secret } = await gw.userWithKey({ id: 'team-other', max_budget: 10 })
    other = new OpenAI({ apiKey: secret, baseURL: `${gw.url}/v1`, maxRetries: 0 })
  })

  test('the owner retrieves, chains, lists, cancels and deletes its response; another user gets 404 for each, and nothing reaches the provider', async () => {
    const first = await client.responses.create({ model: 'mock:gpt-mock', input: 'Remember the number seven' })
    mock.calls.length = 0

    const denied = [
      () => other.responses.retrieve(first.id),
      () => other.responses.inputItems.list(first.id),
      () => other.responses.cancel(first.id),
      () => other.responses.delete(first.id),
      () => other.responses.create({ model: 'mock:gpt-mock', input: 'and now?', previous_response_id: first.id }),
      () => other.responses.inputTokens.count({ model: 'mock:gpt-mock', input: 'and now?', previous_response_id: first.id }),
    ]
    for (const call of denied) {
      const error = await call().then(() => null, (e) => e)
      expect(error).toBeInstanceOf(OpenAI.NotFoundError)
      expect(error.code).toBe('response_not_found')
    }
    expect(mock.calls.length).toBe(0)

    const before = await spend()
    expect((await client.responses.retrieve(first.id)).id).toBe(first.id)
    expect((await client.responses.inputItems.list(first.id)).data.length).toBe(1)
    // The provider refuses to cancel a response that was not made in the background; its 400 is relayed.
    expect(await client.responses.cancel(first.id).then(() => null, (e) => e.status)).toBe(400)
    const after = await spend()
    expect(after.spend).toBe(before.spend) // the lookups cost nothing

    const { row, result } = await billed(() => client.responses.create({ model: 'mock:gpt-mock', input: 'and now?', previous_response_id: first.id }))
    expect(result.previous_response_id).toBe(first.id)
    // The chained context is input too (the mock bills it, as OpenAI does), and the hold covered it.
    expect(row.prompt_tokens).toBeGreaterThan(first.usage!.input_tokens + first.usage!.output_tokens)
    const hold = gw.query<{ reserved: number; cost: number }>('SELECT reserved, cost FROM usage ORDER BY id DESC LIMIT 1')[0]!
    expect(hold.reserved).toBeGreaterThanOrEqual(hold.cost)

    // The master key may read any user's response.
    const asMaster = await fetch(`${gw.url}/v1/responses/${first.id}`, { headers: gw.master })
    expect(asMaster.status).toBe(200)

    expect((await client.responses.delete(first.id).then(() => 'deleted', (e) => e))).toBe('deleted')
    const gone = await client.responses.retrieve(first.id).then(() => null, (e) => e)
    expect(gone).toBeInstanceOf(OpenAI.NotFoundError)
    expect(gone.code).toBe('response_not_found')
  })

  test('a streamed response is its user\'s as soon as it is created', async () => {
    const stream = client.responses.stream({ model: 'mock:gpt-mock', input: 'hi' })
    const final = await stream.finalResponse()
    expect((await client.responses.retrieve(final.id)).id).toBe(final.id)
    expect(await other.responses.retrieve(final.id).then(() => null, (e) => e.status)).toBe(404)
  })

  test('a response made with store: false is not kept, so it cannot be retrieved through the gateway', async () => {
    const r = await client.responses.create({ model: 'mock:gpt-mock', input: 'hi', store: false })
    expect(await client.responses.retrieve(r.id).then(() => null, (e) => e.status)).toBe(404)
  })

  test('a stored prompt, whose size the gateway cannot know, is refused; an item by reference must be an item of this user\'s stored output', async () => {
    const before = await spend()
    const prompt = await client.responses.create({ model: 'mock:gpt-mock', input: 'hi', prompt: { id: 'pmpt_123', version: '2' } }).then(() => null, (e) => e)
    expect(prompt).toBeInstanceOf(OpenAI.BadRequestError)
    expect(prompt.code).toBe('unsized_stored_input')
    // The reference's type is optional: an id alone (or with a null type) is one too.
    for (const reference of [{ type: 'item_reference', id: 'msg_of_someone' }, { id: 'msg_of_someone' }, { id: 'msg_of_someone', type: null }]) {
      const input = [reference, { role: 'user', content: 'go on' }] as unknown as OpenAI.Responses.ResponseInput
      const error = await client.responses.create({ model: 'mock:gpt-mock', input }).then(() => null, (e) => e)
      expect(error).toBeInstanceOf(OpenAI.NotFoundError)
      expect(error.code).toBe('item_not_found')
    }
    expect(mock.calls.length).toBe(0)
    expect((await spend()).reserved).toBe(before.reserved)
  })

  test('an item of a stored response named by reference is held at that response\'s output, and served', async () => {
    const first = await client.responses.create({ model: 'mock:gpt-mock', input: 'Remember the number seven' })
    const item = first.output[0]!
    const held = async (input: OpenAI.Responses.ResponseInput) => {
      await billed(() => client.responses.create({ model: 'mock:gpt-mock', input }))
      return gw.query<{ reserved: number }>('SELECT reserved FROM usage ORDER BY id DESC LIMIT 1')[0]!.reserved
    }
    const referenced = await held([{ type: 'item_reference', id: item.id! }, { role: 'user', content: 'and now?' }])
    const plain = await held([{ role: 'user', content: 'and now?' }])
    // The referenced item is held at the first response's output, at the dearest input rate ($2/M).
    expect(referenced - plain).toBeGreaterThanOrEqual(first.usage!.output_tokens * 2)
    const other = await ((await gw.userWithKey({ id: 'team-other-items', max_budget: 10 })).secret)
    const theirs = new OpenAI({ apiKey: other, baseURL: `${gw.url}/v1`, maxRetries: 0 })
    const error = await theirs.responses.create({ model: 'mock:gpt-mock', input: [{ type: 'item_reference', id: item.id! }] }).then(() => null, (e) => e)
    expect(error.code).toBe('item_not_found')
  })

  test('a conversation id the gateway never saw created is 404', async () => {
    const error = await client.responses.create({ model: 'mock:gpt-mock', input: 'hi', conversation: 'conv_someone_elses' }).then(() => null, (e) => e)
    expect(error).toBeInstanceOf(OpenAI.NotFoundError)
    expect(error.code).toBe('conversation_not_found')
    expect(mock.calls.length).toBe(0)
  })
})

describe('hosted tools with fees follow require-pricing', () => {
  test('web_search sent to a native provider without a feature price is a 402 naming it, before any hold or call', async () => {
    const before = await spend()
    const error = await client.responses
      .create({ model: 'mock:gpt-mock', input: 'news?', tools: [WEATHER, { type: 'web_search' }, { type: 'code_interpreter', container: { type: 'auto' } }] })
      .then(() => null, (e) => e)
    expect(error.status).toBe(402)
    expect(error.code).toBe('pricing_required')
    expect(error.message).toContain('web_search')
    expect(mock.calls.length).toBe(0)
    expect((await spend()).spend).toBe(before.spend)
  })

  test('function tools alone are served, the call passed through', async () => {
    const r = await client.responses.create({ model: 'mock:gpt-mock', input: 'What is the weather in Paris?', tools: [WEATHER] })
    const call = r.output.find((item) => item.type === 'function_call')
    expect(call).toMatchObject({ type: 'function_call', name: 'get_weather', arguments: '{"city":"Paris"}' })
  })
})

describe('a stream cut by the client', () => {
  test('pays its input estimate plus the output delivered so far, recorded as aborted', async () => {
    mock.options = { ...mock.options, chunks: 40, chunkDelayMs: 20, completionText: 'word '.repeat(200).trim() }
    const body = { model: 'mock:gpt-mock', input: 'Tell me a long story', stream: true }
    const res = await fetch(`${gw.url}/v1/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${client.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
    const reader = res.body!.getReader()
    let seen = ''
    while ((seen.match(/response\.output_text\.delta/g) ?? []).length < 3) seen += new TextDecoder().decode((await reader.read()).value)
    await reader.cancel()
    for (let i = 0; i < 100 && mock.aborts === 0; i++) await Bun.sleep(10)
    expect(mock.aborts).toBe(1)
    await Bun.sleep(20)
    await gw.settled()
    const row = gw.query<UsageRow & { reserved: number }>('SELECT * FROM usage ORDER BY id DESC LIMIT 1')[0]!
    const { estimateResponses } = await import('../src/budget/estimate')
    const estimate = estimateResponses(body, { defaultMaxOutputTokens: 4096, mediaPartTokens: 4096 })
    expect(row.status).toBe('aborted')
    expect(row.prompt_tokens).toBe(estimate.inputTokens)
    // Each delta is about five bytes of text: at least the three the client read, fewer than the whole text.
    expect(row.completion_tokens).toBeGreaterThanOrEqual(3 * 4)
    expect(row.completion_tokens).toBeLessThan(200 * 5)
    expect(row.cost).toBe(row.prompt_tokens * 2 + row.completion_tokens * 3)
    expect((await spend()).reserved).toBe(0)
  })
})

describe('/docs', () => {
  test('shows the Responses routes from the schemas that validate them', async () => {
    const doc = (await (await fetch(`${gw.url}/docs/json`)).json()) as any
    const create = doc.paths['/v1/responses'].post
    expect(create.requestBody.content['application/json'].schema.properties.max_output_tokens).toBeDefined()
    expect(doc.paths['/v1/responses/input_tokens'].post).toBeDefined()
    const routes: Array<[string, string]> = [['/v1/responses/{id}', 'get'], ['/v1/responses/{id}', 'delete'], ['/v1/responses/{id}/cancel', 'post'], ['/v1/responses/{id}/input_items', 'get']]
    for (const [path, method] of routes) expect(doc.paths[path]?.[method]).toBeDefined()
  })

  test('the schema is the validation: a bad field is a 400 naming it', async () => {
    const res = await fetch(`${gw.url}/v1/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${client.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'mock:gpt-mock', input: 'hi', max_output_tokens: -1 }),
    })
    expect(res.status).toBe(400)
    expect(((await res.json()) as any).error.message).toContain('max_output_tokens')
  })
})

describe('cap-output on', () => {
  test('the output bound the hold used is sent upstream as max_output_tokens (native) or the chat cap (through chat completions)', async () => {
    const providers = (await import('./support/gateway')).mockProviders(mock)
    const capped = await startTestGateway({
      mock,
      config: {
        cap_output_tokens: true, default_max_output_tokens: 64, pricing: { ...PRICING, 'mockchat:gpt-mock': PRICING['mock:gpt-mock'] },
        providers: { ...providers, mockchat: { ...providers.mock, responses: 'chat' } },
      },
    })
    try {
      const { secret } = await capped.userWithKey({ id: 'team-cap', max_budget: 1 })
      const c = new OpenAI({ apiKey: secret, baseURL: `${capped.url}/v1`, maxRetries: 0 })
      await c.responses.create({ model: 'mock:gpt-mock', input: 'hi' })
      expect((mock.calls.at(-1)!.body as any).max_output_tokens).toBe(64)
      await c.responses.create({ model: 'mockchat:gpt-mock', input: 'hi', max_output_tokens: 10 })
      expect((mock.calls.at(-1)!.body as any).max_tokens).toBe(10)
    } finally {
      await capped.stop()
    }
  })
})
