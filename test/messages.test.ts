import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test'
import Anthropic from '@anthropic-ai/sdk'
import OpenAI from 'openai'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'

/**
 * Whole-number rates (USD per million tokens = micro-USD per token), so a request's cost in micro-USD is
 * exactly input × 4 + cached × 1 + output × 20 (Anthropic model) or input × 2 + cached × 1 + output × 3.
 */
const PRICING = {
  // Its long context window (the first test sends context-1m) at Anthropic's rates: 2× input, 1.5× output.
  'mockant:claude-mock': { input_per_million: 4, cached_input_per_million: 1, output_per_million: 20, service_tiers: { long_context: 2, long_context_output: 1.5 } },
  'mock:gpt-mock': { input_per_million: 2, cached_input_per_million: 1, output_per_million: 3 },
}
const TEXT = 'Hello from the mock provider.'
const WEATHER_TOOL = {
  name: 'get_weather',
  description: 'Current weather for a city',
  input_schema: { type: 'object' as const, properties: { city: { type: 'string' } }, required: ['city'] },
}
const WEATHER_FUNCTION = {
  type: 'function' as const,
  function: { name: 'get_weather', description: 'Current weather for a city', parameters: WEATHER_TOOL.input_schema },
}

let mock: MockProvider
let gw: TestGateway
let secret: string
let anthropic: Anthropic
let openai: OpenAI

beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock, config: { pricing: PRICING } })
  secret = (await gw.userWithKey({ id: 'team-msg', max_budget: 10 })).secret
  await gw.admin('POST', '/v1/users', { id: 'someone-else' })
  anthropic = new Anthropic({ apiKey: secret, baseURL: gw.url, maxRetries: 0 })
  openai = new OpenAI({ apiKey: secret, baseURL: `${gw.url}/v1`, maxRetries: 0 })
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})
beforeEach(() => mock.reset())

interface UsageRow {
  model: string
  provider: string
  endpoint: string
  prompt_tokens: number
  completion_tokens: number
  cached_tokens: number
  cost: number
  reserved: number
  status: string
  stream: number
}

async function lastRow(): Promise<UsageRow> {
  await gw.settled()
  return gw.query<UsageRow>(
    'SELECT model, provider, endpoint, prompt_tokens, completion_tokens, cached_tokens, cost, reserved, status, stream FROM usage ORDER BY id DESC LIMIT 1',
  )[0]!
}

async function spend(): Promise<{ spend: number; reserved: number }> {
  await gw.settled()
  return (await gw.admin('GET', '/v1/users/team-msg')).body
}

/** Runs a request and returns the usage row it wrote and what the user's spend moved by (micro-USD). */
async function billed<T>(run: () => Promise<T>): Promise<{ result: T; row: UsageRow; charged: number }> {
  const before = await spend()
  const result = await run()
  const row = await lastRow()
  const after = await spend()
  expect(after.reserved).toBe(0)
  return { result, row, charged: Math.round((after.spend - before.spend) * 1e6) }
}

const antCost = (u: { input_tokens: number; output_tokens: number; cache_read_input_tokens?: number | null; cache_creation_input_tokens?: number | null }) =>
  (u.input_tokens + (u.cache_creation_input_tokens ?? 0)) * 4 + (u.cache_read_input_tokens ?? 0) * 1 + u.output_tokens * 20

const lastCall = () => mock.calls.at(-1)!
const lastBody = () => lastCall().body as Record<string, any>

describe('/v1/messages to an Anthropic provider, with the official @anthropic-ai/sdk client', () => {
  test('a JSON message is relayed natively, billed from its usage, with the provider credential upstream', async () => {
    const { result, row, charged } = await billed(() =>
      anthropic.messages
        .create(
          { model: 'mockant:claude-mock', max_tokens: 256, system: 'Be brief.', messages: [{ role: 'user', content: 'Say hello' }] },
          { headers: { 'anthropic-beta': 'context-1m-2025-08-07' } },
        )
        .withResponse(),
    )
    const { data: message, response } = result
    expect(message.type).toBe('message')
    expect(message.content).toEqual([{ type: 'text', text: TEXT } as any])
    expect(message.stop_reason).toBe('end_turn')
    expect(message.usage.output_tokens).toBe(5)
    expect(Number(response.headers.get('x-budget-remaining'))).toBeLessThan(10)
    expect(response.headers.get('x-request-id')).toBeTruthy()

    const call = lastCall()
    expect(call.path).toBe('/v1/messages')
    expect(call.headers['x-api-key']).toBe('sk-ant-upstream-secret-0123456789')
    // The client's own API version is passed on (test/count-tokens.test.ts), the gateway's only when it sends none.
    expect(call.headers['anthropic-version']).toMatch(/^\d{4}-\d{2}-\d{2}$/)
    expect(call.headers['anthropic-beta']).toBe('context-1m-2025-08-07') // the client's opt-in to beta features is kept
    expect(JSON.stringify(call.headers)).not.toContain(secret)
    expect(lastBody()).toMatchObject({ model: 'claude-mock', max_tokens: 256, system: 'Be brief.' })

    expect(row).toMatchObject({ model: 'mockant:claude-mock', provider: 'mockant', endpoint: '/v1/messages', status: 'ok', stream: 0 })
    expect(row.prompt_tokens).toBe(message.usage.input_tokens)
    expect(row.completion_tokens).toBe(5)
    expect(row.cost).toBe(antCost(message.usage))
    expect(charged).toBe(row.cost)
  })

  test('messages.stream(): events pass through as they come; usage from message_start and message_delta is billed', async () => {
    mock.options = { ...mock.options, chunks: 4, chunkDelayMs: 5 }
    const { result: message, row, charged } = await billed(async () => {
      const stream = anthropic.messages.stream({ model: 'mockant:claude-mock', max_tokens: 256, messages: [{ role: 'user', content: 'Say hello' }] })
      const deltas: string[] = []
      stream.on('text', (t) => deltas.push(t))
      const final = await stream.finalMessage()
      expect(deltas.length).toBe(4)
      return final
    })
    expect(message.content).toEqual([{ type: 'text', text: TEXT } as any])
    expect(message.usage.output_tokens).toBe(5)
    expect(row).toMatchObject({ status: 'ok', stream: 1, completion_tokens: 5, prompt_tokens: message.usage.input_tokens })
    expect(row.cost).toBe(antCost(message.usage))
    expect(charged).toBe(row.cost)
  })

  test('create({stream: true}) yields the raw event sequence', async () => {
    const stream = await anthropic.messages.create({ model: 'mockant:claude-mock', max_tokens: 256, stream: true, messages: [{ role: 'user', content: 'hi' }] })
    const types: string[] = []
    for await (const event of stream) types.push(event.type)
    expect(types[0]).toBe('message_start')
    expect(types.slice(-3)).toEqual(['content_block_stop', 'message_delta', 'message_stop'])
    expect(types.filter((t) => t === 'content_block_delta').length).toBeGreaterThan(0)
    expect((await lastRow()).status).toBe('ok')
  })

  test('tool use, JSON and streamed', async () => {
    const params = {
      model: 'mockant:claude-mock',
      max_tokens: 256,
      tools: [WEATHER_TOOL],
      messages: [{ role: 'user' as const, content: 'What is the weather in Paris?' }],
    }
    const json = await anthropic.messages.create(params)
    expect(json.stop_reason).toBe('tool_use')
    expect(json.content[0]).toMatchObject({ type: 'tool_use', name: 'get_weather', input: { city: 'Paris' } })
    expect(lastBody().tools).toEqual([WEATHER_TOOL])

    const streamed = await anthropic.messages.stream(params).finalMessage()
    expect(streamed.stop_reason).toBe('tool_use')
    expect(streamed.content[0]).toMatchObject({ type: 'tool_use', name: 'get_weather', input: { city: 'Paris' } })
    const row = await lastRow()
    expect(row).toMatchObject({ status: 'ok', stream: 1, completion_tokens: 12 })
    expect(row.cost).toBe(antCost(streamed.usage))
  })

  test('cache reads are prompt tokens billed at the cached rate, JSON and streamed', async () => {
    mock.options = { ...mock.options, cachedTokens: 40 }
    const params = { model: 'mockant:claude-mock', max_tokens: 256, messages: [{ role: 'user' as const, content: 'Summarise the cached document' }] }

    const json = await billed(() => anthropic.messages.create(params))
    expect(json.result.usage.cache_read_input_tokens).toBe(40)
    const input = json.result.usage.input_tokens
    expect(json.row.prompt_tokens).toBe(input + 40)
    expect(json.row.cached_tokens).toBe(40)
    // 40 cached tokens at $1/M instead of $4/M.
    expect(json.row.cost).toBe(input * 4 + 40 * 1 + 5 * 20)
    expect(json.charged).toBe(json.row.cost)

    const streamed = await billed(() => anthropic.messages.stream(params).finalMessage())
    expect(streamed.row).toMatchObject({ prompt_tokens: input + 40, cached_tokens: 40, stream: 1 })
    expect(streamed.row.cost).toBe(input * 4 + 40 * 1 + 5 * 20)
    expect(streamed.charged).toBe(streamed.row.cost)
  })

  test('metadata.user_id naming the key\'s own user is fine; another user is a 403 PermissionDeniedError in Anthropic\'s shape', async () => {
    const own = await anthropic.messages.create({ model: 'mockant:claude-mock', max_tokens: 64, metadata: { user_id: 'team-msg' }, messages: [{ role: 'user', content: 'hi' }] })
    expect(own.type).toBe('message')

    const calls = mock.calls.length
    const error = await anthropic.messages
      .create({ model: 'mockant:claude-mock', max_tokens: 64, metadata: { user_id: 'someone-else' }, messages: [{ role: 'user', content: 'hi' }] })
      .catch((e) => e)
    expect(error).toBeInstanceOf(Anthropic.PermissionDeniedError)
    expect(error.status).toBe(403)
    expect(error.error).toEqual({ type: 'error', error: { type: 'permission_error', message: expect.stringContaining('bills its own user') } })
    expect(mock.calls.length).toBe(calls)
  })

  test('a bad key is a 401 AuthenticationError', async () => {
    const stranger = new Anthropic({ apiKey: 'tg-not-a-real-key-0123456789abcdef', baseURL: gw.url, maxRetries: 0 })
    const error = await stranger.messages.create({ model: 'mockant:claude-mock', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] }).catch((e) => e)
    expect(error).toBeInstanceOf(Anthropic.AuthenticationError)
    expect(error.error).toMatchObject({ type: 'error', error: { type: 'authentication_error' } })
  })

  test('an unpriced model is a 402 before the provider hears of it', async () => {
    const calls = mock.calls.length
    const error = await anthropic.messages.create({ model: 'mockant:no-price', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] }).catch((e) => e)
    expect(error).toBeInstanceOf(Anthropic.APIError)
    expect(error.status).toBe(402)
    expect(error.error).toEqual({ type: 'error', error: { type: 'billing_error', message: expect.stringContaining('No price') } })
    expect(mock.calls.length).toBe(calls)
  })

  test('a key over its rpm_limit gets a 429 RateLimitError', async () => {
    const { secret: limited } = await gw.userWithKey({ id: 'team-rpm' }, { rpm_limit: 1 })
    const client = new Anthropic({ apiKey: limited, baseURL: gw.url, maxRetries: 0 })
    const params = { model: 'mockant:claude-mock', max_tokens: 64, messages: [{ role: 'user' as const, content: 'hi' }] }
    await client.messages.create(params)
    const error = await client.messages.create(params).catch((e) => e)
    expect(error).toBeInstanceOf(Anthropic.RateLimitError)
    expect(error.headers.get('retry-after')).toBeTruthy()
    expect(error.error).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' } })
  })

  test('a body without max_tokens is a 400 naming the field, in Anthropic\'s shape', async () => {
    const res = await fetch(`${gw.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': secret, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'mockant:claude-mock', messages: [{ role: 'user', content: 'hi' }] }),
    })
    expect(res.status).toBe(400)
    const body = (await res.json()) as any
    expect(body.type).toBe('error')
    expect(body.error.type).toBe('invalid_request_error')
    expect(body.error.message).toContain('max_tokens')
  })
})

describe('/v1/chat/completions to an Anthropic provider (translated), with the official openai client', () => {
  test('JSON: the request becomes an Anthropic one and the answer a chat.completion billed from Anthropic usage', async () => {
    mock.options = { ...mock.options, cachedTokens: 7 }
    const { result: completion, row, charged } = await billed(() =>
      openai.chat.completions.create({
        model: 'mockant:claude-mock',
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: [{ type: 'text', text: 'Say hello' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } }] },
        ],
        stop: ['END'],
        temperature: 0.5,
      }),
    )
    expect(completion.object).toBe('chat.completion')
    expect(completion.choices[0]!.message.content).toBe(TEXT)
    expect(completion.choices[0]!.finish_reason).toBe('stop')

    const sent = lastBody()
    expect(lastCall().path).toBe('/v1/messages')
    expect(sent).toMatchObject({ model: 'claude-mock', system: 'Be brief.', max_tokens: 4096, stop_sequences: ['END'], temperature: 0.5 })
    expect(sent.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'Say hello' }, { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } }] },
    ])

    const usage = completion.usage!
    expect(usage.prompt_tokens_details?.cached_tokens).toBe(7)
    expect(usage.completion_tokens).toBe(5)
    expect(row).toMatchObject({ model: 'mockant:claude-mock', endpoint: '/v1/chat/completions', status: 'ok', prompt_tokens: usage.prompt_tokens, cached_tokens: 7 })
    expect(row.cost).toBe((usage.prompt_tokens - 7) * 4 + 7 * 1 + 5 * 20)
    expect(charged).toBe(row.cost)
  })

  test('stream: chunks converted as they come; usage chunk only when asked; billed either way', async () => {
    mock.options = { ...mock.options, chunks: 4 }
    const plain = await billed(async () => {
      const stream = await openai.chat.completions.create({ model: 'mockant:claude-mock', stream: true, messages: [{ role: 'user', content: 'hi' }] })
      let text = ''
      let sawUsage = false
      let finish: string | null = null
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta?.content ?? ''
        finish = chunk.choices[0]?.finish_reason ?? finish
        if (chunk.usage) sawUsage = true
      }
      return { text, sawUsage, finish }
    })
    expect(plain.result).toEqual({ text: TEXT, sawUsage: false, finish: 'stop' })
    expect(lastBody().stream).toBe(true)
    expect(plain.row).toMatchObject({ status: 'ok', stream: 1, completion_tokens: 5 })
    expect(plain.charged).toBe(plain.row.cost)

    const withUsage = await billed(async () => {
      const stream = await openai.chat.completions.create({
        model: 'mockant:claude-mock', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'hi' }],
      })
      let usage: OpenAI.CompletionUsage | undefined
      for await (const chunk of stream) if (chunk.usage) usage = chunk.usage
      return usage
    })
    expect(withUsage.result?.completion_tokens).toBe(5)
    expect(withUsage.row.prompt_tokens).toBe(withUsage.result!.prompt_tokens)
    expect(withUsage.row.cost).toBe(withUsage.result!.prompt_tokens * 4 + 5 * 20)
  })

  test('a slow stream reaches the client piece by piece, not when the provider is done', async () => {
    mock.options = { ...mock.options, chunks: 5, chunkDelayMs: 120 }
    const started = performance.now()
    const stream = await openai.chat.completions.create({ model: 'mockant:claude-mock', stream: true, messages: [{ role: 'user', content: 'hi' }] })
    let firstText = 0
    for await (const chunk of stream) if (!firstText && chunk.choices[0]?.delta?.content) firstText = performance.now() - started
    const total = performance.now() - started
    // message_start, ping and content_block_start come first, then one text delta every 120 ms.
    expect(total - firstText).toBeGreaterThanOrEqual(4 * 120 - 30)
  })

  test('tool calls: definitions become Anthropic tools, tool_use comes back as tool_calls, JSON and streamed', async () => {
    const params = {
      model: 'mockant:claude-mock',
      tools: [WEATHER_FUNCTION],
      tool_choice: 'required' as const,
      messages: [{ role: 'user' as const, content: 'What is the weather in Paris?' }],
    }
    const json = await openai.chat.completions.create(params)
    expect(json.choices[0]!.finish_reason).toBe('tool_calls')
    const call = json.choices[0]!.message.tool_calls![0]! as OpenAI.ChatCompletionMessageFunctionToolCall
    expect(call).toMatchObject({ id: 'toolu_1', type: 'function', function: { name: 'get_weather' } })
    expect(JSON.parse(call.function.arguments)).toEqual({ city: 'Paris' })
    expect(lastBody().tools).toEqual([WEATHER_TOOL])
    expect(lastBody().tool_choice).toEqual({ type: 'any' })

    const stream = await openai.chat.completions.create({ ...params, stream: true })
    let args = ''
    let name = ''
    let id = ''
    let finish: string | null = null
    for await (const chunk of stream) {
      const tc = chunk.choices[0]?.delta?.tool_calls?.[0]
      if (tc) {
        expect(tc.index).toBe(0)
        id ||= tc.id ?? ''
        name ||= tc.function?.name ?? ''
        args += tc.function?.arguments ?? ''
      }
      finish = chunk.choices[0]?.finish_reason ?? finish
    }
    expect({ id, name, args: JSON.parse(args), finish }).toEqual({ id: 'toolu_1', name: 'get_weather', args: { city: 'Paris' }, finish: 'tool_calls' })
    const row = await lastRow()
    expect(row).toMatchObject({ status: 'ok', stream: 1, completion_tokens: 12 })
  })

  test('a tool round trip: assistant tool_calls become tool_use blocks, tool messages one user turn of tool_result blocks', async () => {
    const completion = await openai.chat.completions.create({
      model: 'mockant:claude-mock',
      tools: [WEATHER_FUNCTION],
      messages: [
        { role: 'user', content: 'What is the weather in Paris and Rome?' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            { id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
            { id: 'call_b', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Rome"}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'call_a', content: 'Sunny' },
        { role: 'tool', tool_call_id: 'call_b', content: 'Rain' },
      ],
    })
    expect(completion.choices[0]!.message.content).toBe(TEXT)
    expect(lastBody().messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'What is the weather in Paris and Rome?' }] },
      {
        role: 'assistant',
        content: [
          { type: 'tool_use', id: 'call_a', name: 'get_weather', input: { city: 'Paris' } },
          { type: 'tool_use', id: 'call_b', name: 'get_weather', input: { city: 'Rome' } },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'call_a', content: 'Sunny' },
          { type: 'tool_result', tool_use_id: 'call_b', content: 'Rain' },
        ],
      },
    ])
  })

  test('a part Anthropic cannot take is a 400 naming it, before any hold or upstream call', async () => {
    await gw.settled()
    const calls = mock.calls.length
    const rows = gw.query('SELECT count(*) AS n FROM usage')[0].n
    const error = await openai.chat.completions
      .create({ model: 'mockant:claude-mock', messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: { data: 'AAAA', format: 'wav' } }] }] })
      .catch((e) => e)
    expect(error).toBeInstanceOf(OpenAI.BadRequestError)
    expect(error.error.message).toContain('messages[0].content[0]')
    expect(mock.calls.length).toBe(calls)
    await gw.settled()
    expect(gw.query('SELECT count(*) AS n FROM usage')[0].n).toBe(rows)
  })
})

describe('/v1/messages to an OpenAI-compatible provider (translated), with the official @anthropic-ai/sdk client', () => {
  test('JSON: system becomes a system message, the completion an Anthropic message billed from OpenAI usage', async () => {
    mock.options = { ...mock.options, cachedTokens: 6 }
    const { result: message, row, charged } = await billed(() =>
      anthropic.messages.create({
        model: 'mock:gpt-mock',
        max_tokens: 300,
        system: 'Be brief.',
        stop_sequences: ['END'],
        metadata: { user_id: 'team-msg' },
        messages: [{ role: 'user', content: [{ type: 'text', text: 'Say hello' }] }],
      }),
    )
    expect(message).toMatchObject({ type: 'message', role: 'assistant', stop_reason: 'end_turn', content: [{ type: 'text', text: TEXT }] })
    expect(lastCall().path).toBe('/v1/chat/completions')
    expect(lastCall().headers.authorization).toBe('Bearer sk-upstream-secret-0123456789')
    expect(lastBody()).toMatchObject({
      model: 'gpt-mock',
      max_tokens: 300,
      stop: ['END'],
      user: 'team-msg',
      messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: [{ type: 'text', text: 'Say hello' }] }],
    })
    expect(message.usage).toMatchObject({ cache_read_input_tokens: 6, output_tokens: 5 })
    expect(row).toMatchObject({ model: 'mock:gpt-mock', endpoint: '/v1/messages', status: 'ok', cached_tokens: 6 })
    expect(row.prompt_tokens).toBe(message.usage.input_tokens + 6)
    expect(row.cost).toBe(message.usage.input_tokens * 2 + 6 * 1 + 5 * 3)
    expect(charged).toBe(row.cost)
  })

  test('stream: chunks become message events as they come; usage is always asked upstream and lands in message_delta', async () => {
    mock.options = { ...mock.options, chunks: 4, chunkDelayMs: 5 }
    const { result, row, charged } = await billed(async () => {
      const stream = anthropic.messages.stream({ model: 'mock:gpt-mock', max_tokens: 300, messages: [{ role: 'user', content: 'Say hello' }] })
      const types: string[] = []
      stream.on('streamEvent', (e) => types.push(e.type))
      const message = await stream.finalMessage()
      return { message, types }
    })
    expect(lastBody().stream_options).toEqual({ include_usage: true })
    expect(result.types).toEqual([
      'message_start', 'content_block_start', 'content_block_delta', 'content_block_delta', 'content_block_delta', 'content_block_delta',
      'content_block_stop', 'message_delta', 'message_stop',
    ])
    expect(result.message.content).toEqual([{ type: 'text', text: TEXT } as any])
    expect(result.message.stop_reason).toBe('end_turn')
    expect(result.message.usage.output_tokens).toBe(5)
    expect(row).toMatchObject({ status: 'ok', stream: 1, completion_tokens: 5, prompt_tokens: result.message.usage.input_tokens })
    expect(row.cost).toBe(result.message.usage.input_tokens * 2 + 5 * 3)
    expect(charged).toBe(row.cost)
  })

  test('a slow stream reaches the client piece by piece, not when the provider is done', async () => {
    mock.options = { ...mock.options, chunks: 5, chunkDelayMs: 120 }
    const started = performance.now()
    const stream = anthropic.messages.stream({ model: 'mock:gpt-mock', max_tokens: 300, messages: [{ role: 'user', content: 'hi' }] })
    let firstText = 0
    stream.on('text', () => {
      firstText ||= performance.now() - started
    })
    await stream.finalMessage()
    const total = performance.now() - started
    // The role chunk comes first, then one content chunk every 120 ms, then the finish and usage chunks.
    expect(total - firstText).toBeGreaterThanOrEqual(4 * 120 - 30)
  })

  test('tool use: Anthropic tools become functions; tool calls come back as tool_use blocks, JSON and streamed', async () => {
    const params = {
      model: 'mock:gpt-mock',
      max_tokens: 300,
      tools: [WEATHER_TOOL],
      tool_choice: { type: 'tool' as const, name: 'get_weather' },
      messages: [{ role: 'user' as const, content: 'What is the weather in Paris?' }],
    }
    const json = await anthropic.messages.create(params)
    expect(json.stop_reason).toBe('tool_use')
    expect(json.content).toEqual([{ type: 'tool_use', id: 'call_1', name: 'get_weather', input: { city: 'Paris' } } as any])
    expect(lastBody().tools).toEqual([WEATHER_FUNCTION])
    expect(lastBody().tool_choice).toEqual({ type: 'function', function: { name: 'get_weather' } })

    const streamed = await anthropic.messages.stream(params).finalMessage()
    expect(streamed.stop_reason).toBe('tool_use')
    expect(streamed.content).toHaveLength(1)
    expect(streamed.content[0]).toMatchObject({ type: 'tool_use', id: 'call_1', name: 'get_weather', input: { city: 'Paris' } })
    const row = await lastRow()
    expect(row).toMatchObject({ status: 'ok', stream: 1, completion_tokens: 12, endpoint: '/v1/messages' })
  })

  test('a tool round trip: tool_use blocks become tool_calls, tool_result blocks tool messages', async () => {
    const message = await anthropic.messages.create({
      model: 'mock:gpt-mock',
      max_tokens: 300,
      tools: [WEATHER_TOOL],
      messages: [
        { role: 'user', content: 'What is the weather in Paris?' },
        { role: 'assistant', content: [{ type: 'text', text: 'Checking.' }, { type: 'tool_use', id: 'toolu_9', name: 'get_weather', input: { city: 'Paris' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_9', content: [{ type: 'text', text: 'Sunny' }] }, { type: 'text', text: 'Thanks' }] },
      ],
    })
    expect(message.content).toEqual([{ type: 'text', text: TEXT } as any])
    expect(lastBody().messages).toEqual([
      { role: 'user', content: 'What is the weather in Paris?' },
      { role: 'assistant', content: 'Checking.', tool_calls: [{ id: 'toolu_9', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
      { role: 'tool', tool_call_id: 'toolu_9', content: 'Sunny' },
      { role: 'user', content: [{ type: 'text', text: 'Thanks' }] },
    ])
  })
})
