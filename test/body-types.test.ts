import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { estimateChat, estimateMessages } from '../src/budget/estimate'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'

let mock: MockProvider
let gw: TestGateway
let secret: string

beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({
    mock,
    config: {
      pricing: {
        'mock:gpt-mock': { input_per_million: 1, output_per_million: 2 },
        'mockant:claude-mock': { input_per_million: 1, output_per_million: 2 },
        'mock:text-embedding-mock': { input_per_million: 1, output_per_million: 0 },
      },
    },
  })
  secret = (await gw.userWithKey({ id: 'typed', max_budget: 10 })).secret
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})

const post = async (path: string, body: unknown) => {
  const res = await fetch(gw.url + path, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  return { status: res.status, body: (await res.json().catch(() => null)) as any }
}

const errorMessage = (body: any): string => body?.error?.message ?? ''

const chat = (extra: Record<string, unknown>, message: Record<string, unknown> = { role: 'user', content: 'hi' }) =>
  ['/v1/chat/completions', { model: 'mock:gpt-mock', messages: [message], max_tokens: 5, ...extra }] as const
const chatMessage = (message: Record<string, unknown>) => chat({}, message)
const messages = (extra: Record<string, unknown>, message: Record<string, unknown> = { role: 'user', content: 'hi' }) =>
  ['/v1/messages', { model: 'mockant:claude-mock', max_tokens: 5, messages: [message], ...extra }] as const

/** [what is wrong, route and body, the field the 400 must name] */
const WRONG: ReadonlyArray<[string, readonly [string, unknown], string]> = [
  ['chat: content a number', chatMessage({ role: 'user', content: 5 }), 'messages.0.content'],
  ['chat: content a boolean', chatMessage({ role: 'user', content: true }), 'messages.0.content'],
  ['chat: content an object', chatMessage({ role: 'user', content: { text: 'hi' } }), 'messages.0.content'],
  ['chat: a part that is a number', chatMessage({ role: 'user', content: [5] }), 'messages.0.content'],
  ['chat: a part without a type', chatMessage({ role: 'user', content: [{ text: 'hi' }] }), 'messages.0.content'],
  ['chat: a part whose type is a number', chatMessage({ role: 'user', content: [{ type: 1, text: 'hi' }] }), 'messages.0.content'],
  ['chat: a text part whose text is an object', chatMessage({ role: 'user', content: [{ type: 'text', text: { a: 1 } }] }), 'messages.0.content'],
  ['chat: role a number', chatMessage({ role: 7, content: 'hi' }), 'messages.0.role'],
  ['chat: a message that is a string', chatMessage('hi' as never), 'messages.0'],
  ['chat: tool call arguments an object', chatMessage({ role: 'assistant', tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: {} } }] }), 'messages.0.tool_calls.0.function.arguments'],
  ['chat: tool_call_id a number', chatMessage({ role: 'tool', tool_call_id: 3, content: 'x' }), 'messages.0.tool_call_id'],
  ['chat: a function tool without its function', chat({ tools: [{ type: 'function' }] }), 'tools.0.function'],
  ['chat: a function tool without a name', chat({ tools: [{ type: 'function', function: { parameters: {} } }] }), 'tools.0.function.name'],
  ['chat: a tool that is a string', chat({ tools: ['f'] }), 'tools.0'],
  ['chat: tool_choice a number', chat({ tool_choice: 1 }), 'tool_choice'],
  ['chat: stop a number', chat({ stop: 1 }), 'stop'],
  ['chat: response_format a string', chat({ response_format: 'json' }), 'response_format'],
  ['chat: temperature a string', chat({ temperature: 'hot' }), 'temperature'],
  ['messages: content a number', messages({}, { role: 'user', content: 5 }), 'messages.0.content'],
  ['messages: content an object', messages({}, { role: 'user', content: { type: 'text', text: 'hi' } }), 'messages.0.content'],
  ['messages: a block without a type', messages({}, { role: 'user', content: [{ text: 'hi' }] }), 'messages.0.content'],
  ['messages: role a boolean', messages({}, { role: false, content: 'hi' }), 'messages.0.role'],
  ['messages: system a number', messages({ system: 5 }), 'system'],
  ['messages: a tool without a name', messages({ tools: [{ input_schema: { type: 'object' } }] }), 'tools.0.name'],
  ['messages: tool_choice a string', messages({ tool_choice: 'auto' }), 'tool_choice'],
  ['embeddings: input a number', ['/v1/embeddings', { model: 'mock:text-embedding-mock', input: 5 }], 'input'],
  ['embeddings: input of objects', ['/v1/embeddings', { model: 'mock:text-embedding-mock', input: [{ text: 'a' }] }], 'input'],
  ['embeddings: dimensions a string', ['/v1/embeddings', { model: 'mock:text-embedding-mock', input: 'a', dimensions: 'big' }], 'dimensions'],
  ['moderations: input a boolean', ['/v1/moderations', { model: 'mock:omni-moderation-latest', input: true }], 'input'],
  ['moderations: a part whose type is a number', ['/v1/moderations', { model: 'mock:omni-moderation-latest', input: [{ type: 2 }] }], 'input'],
  ['speech: input a number', ['/v1/audio/speech', { model: 'mock:tts-mock', input: 5, voice: 'alloy' }], 'input'],
  ['speech: voice a number', ['/v1/audio/speech', { model: 'mock:tts-mock', input: 'hi', voice: 5 }], 'voice'],
  ['speech: speed a string', ['/v1/audio/speech', { model: 'mock:tts-mock', input: 'hi', voice: 'alloy', speed: 'fast' }], 'speed'],
]

describe('a field of the wrong type', () => {
  for (const [what, [path, body], field] of WRONG)
    test(`${what} → 400 naming ${field}, before any hold or upstream call`, async () => {
      const calls = mock.calls.length
      const res = await post(path, body)
      expect({ status: res.status, mentions: errorMessage(res.body).includes(`: ${field}:`) || (res.body?.error?.message ?? '').includes(` ${field}:`) }).toEqual({ status: 400, mentions: true })
      expect(mock.calls.length).toBe(calls)
      await gw.settled()
      expect(gw.query('SELECT count(*) AS n FROM reservations')[0].n).toBe(0)
      expect(gw.query("SELECT reserved FROM users WHERE id = 'typed'")[0].reserved).toBe(0)
    })
})

describe('what the gateway does not know still passes through', () => {
  test('an unknown field and an unknown part type reach an OpenAI provider untouched', async () => {
    const part = { type: 'future_part', payload: { any: ['shape', 1, true] } }
    const res = await post(...chat({ future_option: { enabled: true } }, { role: 'user', content: [{ type: 'text', text: 'hi' }, part], future_message_field: 1 }))
    expect(res.status).toBe(200)
    const sent = mock.calls.at(-1)!.body as any
    expect(sent.future_option).toEqual({ enabled: true })
    expect(sent.messages[0].content[1]).toEqual(part)
    expect(sent.messages[0].future_message_field).toBe(1)
  })

  test('an unknown field, block type and server tool reach an Anthropic provider untouched', async () => {
    const block = { type: 'future_block', data: 'x' }
    // Not a billed one (web search must be priced, issue 12 item 3): a server tool the gateway has never heard of.
    const tool = { type: 'future_tool_20991231', name: 'future_tool' }
    const res = await post(...messages({ future_option: 'on', tools: [tool] }, { role: 'user', content: [{ type: 'text', text: 'hi' }, block] }))
    expect(res.status).toBe(200)
    const sent = mock.calls.at(-1)!.body as any
    expect(sent.future_option).toBe('on')
    expect(sent.tools).toEqual([tool])
    expect(sent.messages[0].content[1]).toEqual(block)
  })

  test('an assistant message with tool calls and no content, and a custom tool, are served', async () => {
    const res = await post(
      '/v1/chat/completions',
      {
        model: 'mock:gpt-mock',
        max_tokens: 5,
        tools: [{ type: 'custom', custom: { name: 'grammar' } }, { type: 'function', function: { name: 'f', parameters: { type: 'object' } } }],
        messages: [
          { role: 'user', content: 'hi' },
          { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{}' } }] },
          { role: 'tool', tool_call_id: 'c1', content: 'done' },
        ],
      },
    )
    expect(res.status).toBe(200)
  })
})

describe('unknown fields count toward the estimate by their bytes', () => {
  const o = { defaultMaxOutputTokens: 10, mediaPartTokens: 100 }
  const big = 'x'.repeat(50_000)

  test('chat: an unknown top-level field', () => {
    const base = { model: 'm', messages: [{ role: 'user', content: 'hi' }] }
    expect(estimateChat({ ...base, future_context: { text: big } }, o).inputTokens - estimateChat(base, o).inputTokens).toBeGreaterThanOrEqual(50_000)
  })

  test('messages: an unknown top-level field', () => {
    const base = { model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }
    expect(estimateMessages({ ...base, future_context: [big] }, o).inputTokens - estimateMessages(base, o).inputTokens).toBeGreaterThanOrEqual(50_000)
  })

  test('an unknown part or block type counts its bytes', () => {
    const chatPart = estimateChat({ messages: [{ role: 'user', content: [{ type: 'future_part', data: big }] }] }, o)
    expect(chatPart.inputTokens).toBeGreaterThanOrEqual(50_000)
    const block = estimateMessages({ max_tokens: 5, messages: [{ role: 'user', content: [{ type: 'future_block', data: big }] }] }, o)
    expect(block.inputTokens).toBeGreaterThanOrEqual(50_000)
  })
})
