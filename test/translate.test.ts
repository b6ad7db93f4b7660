import { describe, expect, test } from 'bun:test'
import { estimateMessages, PER_MESSAGE_OVERHEAD } from '../src/budget/estimate'
import { GatewayError } from '../src/http/errors'
import { chatRequestToMessages } from '../src/translate/chat-request-to-messages'
import { ChunksToMessageEvents } from '../src/translate/chunks-to-message-events'
import { completionToMessage } from '../src/translate/completion-to-message'
import { completionToResponse } from '../src/translate/responses/completion-to-response'
import { MessageEventsToChunks } from '../src/translate/message-events-to-chunks'
import { messageToCompletion } from '../src/translate/message-to-completion'
import { messagesRequestToChat } from '../src/translate/messages-request-to-chat'
import { SseParser, type SseEvent } from '../src/translate/sse'
import { finishReasonOf, stopReasonOf } from '../src/translate/stop-reason'

const data = (payload: unknown, event: string | null = null): SseEvent => {
  const text = typeof payload === 'string' ? payload : JSON.stringify(payload)
  return { event, data: text, raw: `${event ? `event: ${event}\n` : ''}data: ${text}` }
}
const anthropicEvent = (type: string, rest: Record<string, unknown> = {}) => data({ type, ...rest }, type)

/** Parses converter output back into events. */
const parse = (text: string) => {
  const parser = new SseParser()
  return parser.push(new TextEncoder().encode(text)).concat(parser.end())
}
const payloads = (text: string) => parse(text).map((e) => (e.data === '[DONE]' ? '[DONE]' : JSON.parse(e.data)))

describe('SseParser', () => {
  test('events split across reads, inside a multi-byte character, with CRLF and without a final blank line', () => {
    const bytes = new TextEncoder().encode('event: a\r\ndata: {"t":"é"}\r\n\r\ndata: one\ndata: two\n\n: comment\n\ndata: last')
    const parser = new SseParser()
    const events: SseEvent[] = []
    for (let i = 0; i < bytes.length; i += 3) events.push(...parser.push(bytes.subarray(i, i + 3)))
    events.push(...parser.end())
    expect(events.map(({ event, data }) => ({ event, data }))).toEqual([
      { event: 'a', data: '{"t":"é"}' },
      { event: null, data: 'one\ntwo' },
      { event: null, data: '' },
      { event: null, data: 'last' },
    ])
  })

  test('however a stream is cut into reads, its events are those of one read (blank lines, CR, CRLF and characters split at every seam)', () => {
    const parts = ['\n', '\n', '\r', '\r\n', '\r\r', '\n\n', 'data: ', 'data:', 'event: x', ': c', 'a', 'é', '😀', ' ']
    let seed = 7
    const random = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff), seed % n)
    const parse = (bytes: Uint8Array, cuts: number[]) => {
      const parser = new SseParser()
      const events: SseEvent[] = []
      let from = 0
      for (const cut of [...cuts, bytes.length]) {
        events.push(...parser.push(bytes.subarray(from, cut)))
        from = cut
      }
      return events.concat(parser.end())
    }
    for (let run = 0; run < 20_000; run++) {
      let text = ''
      for (let n = random(40); n > 0; n--) text += parts[random(parts.length)]
      const bytes = new TextEncoder().encode(text)
      const cuts = [...bytes.keys()].filter(() => random(3) === 0)
      expect(parse(bytes, cuts)).toEqual(parse(bytes, []))
    }
  })
})

describe('OpenAI chunks → Anthropic events', () => {
  const chunk = (delta: Record<string, unknown>, finish: string | null = null, usage?: unknown) =>
    data({ id: 'chatcmpl-1', object: 'chat.completion.chunk', model: 'gpt-x', choices: [{ index: 0, delta, finish_reason: finish }], ...(usage ? { usage } : {}) })

  test('text, then two tool calls: one block each, opened and closed in order; usage from the last chunk in message_delta', () => {
    const c = new ChunksToMessageEvents()
    let out = ''
    for (const e of [
      chunk({ role: 'assistant', content: '' }),
      chunk({ content: 'Let me check.' }),
      chunk({ tool_calls: [{ index: 0, id: 'call_a', type: 'function', function: { name: 'f', arguments: '' } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: '{"x":' } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: '1}' } }] }),
      chunk({ tool_calls: [{ index: 1, id: 'call_b', type: 'function', function: { name: 'g', arguments: '{}' } }] }),
      chunk({}, 'tool_calls'),
      data({ id: 'chatcmpl-1', choices: [], usage: { prompt_tokens: 30, completion_tokens: 9, prompt_tokens_details: { cached_tokens: 10 } } }),
      data('[DONE]'),
    ]) out += c.push(e)
    out += c.end()
    const events = payloads(out)
    expect(events.map((e) => e.type)).toEqual([
      'message_start',
      'content_block_start', 'content_block_delta', 'content_block_stop',
      'content_block_start', 'content_block_delta', 'content_block_delta', 'content_block_stop',
      'content_block_start', 'content_block_delta', 'content_block_stop',
      'message_delta', 'message_stop',
    ])
    expect(events[4]).toEqual({ type: 'content_block_start', index: 1, content_block: { type: 'tool_use', id: 'call_a', name: 'f', input: {} } })
    expect(events[6]).toEqual({ type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '1}' } })
    expect(events[8].index).toBe(2)
    expect(events[11]).toEqual({
      type: 'message_delta',
      delta: { stop_reason: 'tool_use', stop_sequence: null },
      usage: { input_tokens: 20, output_tokens: 9, cache_read_input_tokens: 10, cache_creation_input_tokens: 0 },
    })
    // Every event is named after its type, as Anthropic's SDKs expect.
    for (const e of parse(out)) expect(e.event).toBe(JSON.parse(e.data).type)
  })

  test('an upstream error event, a malformed event, and an end without [DONE] or finish become Anthropic error events', () => {
    const failed = new ChunksToMessageEvents()
    failed.push(chunk({ content: 'Hi' }))
    expect(payloads(failed.push(data({ error: { message: 'boom' } })))).toEqual([{ type: 'error', error: { type: 'api_error', message: 'boom' } }])
    expect(failed.end()).toBe('')

    const malformed = new ChunksToMessageEvents()
    expect(payloads(malformed.push(data('{"choices": [')))[0].error.message).toContain('malformed')
    expect(malformed.broken).toBe(true)

    const cut = new ChunksToMessageEvents()
    cut.push(chunk({ content: 'Hi' }))
    expect(payloads(cut.end())[0].error.message).toContain('ended before it finished')
  })

  test('a server that finishes without [DONE] still gets a complete message', () => {
    const c = new ChunksToMessageEvents()
    c.push(chunk({ content: 'Hi' }))
    c.push(chunk({}, 'length'))
    const events = payloads(c.end())
    expect(events.map((e) => e.type)).toEqual(['message_delta', 'message_stop'])
    expect(events[0].delta.stop_reason).toBe('max_tokens')
  })
})

describe('Anthropic events → OpenAI chunks', () => {
  const stream = (includeUsage: boolean) => {
    const c = new MessageEventsToChunks(includeUsage)
    let out = ''
    for (const e of [
      anthropicEvent('message_start', { message: { id: 'msg_1', model: 'claude-x', usage: { input_tokens: 10, output_tokens: 1, cache_read_input_tokens: 5, cache_creation_input_tokens: 2 } } }),
      anthropicEvent('ping'),
      anthropicEvent('content_block_start', { index: 0, content_block: { type: 'thinking', thinking: '' } }),
      anthropicEvent('content_block_delta', { index: 0, delta: { type: 'thinking_delta', thinking: 'hmm' } }),
      anthropicEvent('content_block_stop', { index: 0 }),
      anthropicEvent('content_block_start', { index: 1, content_block: { type: 'text', text: '' } }),
      anthropicEvent('content_block_delta', { index: 1, delta: { type: 'text_delta', text: 'Sure.' } }),
      anthropicEvent('content_block_stop', { index: 1 }),
      anthropicEvent('content_block_start', { index: 2, content_block: { type: 'tool_use', id: 'toolu_1', name: 'f', input: {} } }),
      anthropicEvent('content_block_delta', { index: 2, delta: { type: 'input_json_delta', partial_json: '{"x":1}' } }),
      anthropicEvent('content_block_stop', { index: 2 }),
      anthropicEvent('message_delta', { delta: { stop_reason: 'tool_use' }, usage: { output_tokens: 7 } }),
      anthropicEvent('message_stop'),
    ]) out += c.push(e)
    return payloads(out + c.end())
  }

  test('thinking is left out; the first tool_use block (content block 2) is tool call 0; usage chunk counts cache tokens as prompt', () => {
    const events = stream(true)
    expect(events.at(-1)).toBe('[DONE]')
    const chunks = events.slice(0, -1)
    expect(chunks.map((c) => c.choices[0]?.delta ?? null)).toEqual([
      { role: 'assistant', content: '' },
      { content: 'Sure.' },
      { tool_calls: [{ index: 0, id: 'toolu_1', type: 'function', function: { name: 'f', arguments: '' } }] },
      { tool_calls: [{ index: 0, function: { arguments: '{"x":1}' } }] },
      {},
      null,
    ])
    expect(chunks[4].choices[0].finish_reason).toBe('tool_calls')
    expect(chunks[5]).toMatchObject({ id: 'msg_1', model: 'claude-x', choices: [] })
    expect(chunks[5].usage).toEqual({ prompt_tokens: 17, completion_tokens: 7, total_tokens: 24, prompt_tokens_details: { cached_tokens: 5 } })
  })

  test('a tool with no parameters (no argument text, or an empty fragment) ends with arguments {}, as OpenAI sends it', () => {
    for (const deltas of [[], [{ type: 'input_json_delta', partial_json: '' }]]) {
      const c = new MessageEventsToChunks(false)
      let out = c.push(anthropicEvent('message_start', { message: { id: 'msg_1', model: 'm' } }))
      out += c.push(anthropicEvent('content_block_start', { index: 0, content_block: { type: 'tool_use', id: 'toolu_1', name: 'now', input: {} } }))
      for (const delta of deltas) out += c.push(anthropicEvent('content_block_delta', { index: 0, delta }))
      out += c.push(anthropicEvent('content_block_stop', { index: 0 }))
      out += c.push(anthropicEvent('message_delta', { delta: { stop_reason: 'tool_use' } }))
      out += c.push(anthropicEvent('message_stop'))
      const args = payloads(out)
        .filter((p) => p !== '[DONE]')
        .flatMap((p) => p.choices[0]?.delta?.tool_calls ?? [])
        .map((t: { function: { arguments: string } }) => t.function.arguments)
        .join('')
      expect(args).toBe('{}')
    }
  })

  test('no usage chunk unless asked', () => {
    expect(stream(false).filter((c) => c !== '[DONE]' && c.usage)).toEqual([])
  })

  test('an Anthropic error event, or an end without message_stop, becomes an OpenAI error event (overloaded in OpenAI\'s words)', () => {
    const c = new MessageEventsToChunks(false)
    c.push(anthropicEvent('message_start', { message: { id: 'msg_1', model: 'm' } }))
    expect(payloads(c.push(anthropicEvent('error', { error: { type: 'overloaded_error', message: 'Overloaded' } })))).toEqual([
      { error: { message: 'Overloaded', type: 'service_unavailable_error', code: 'server_is_overloaded', param: null } },
    ])
    const failed = new MessageEventsToChunks(false)
    failed.push(anthropicEvent('message_start', { message: { id: 'msg_1', model: 'm' } }))
    expect(payloads(failed.push(anthropicEvent('error', { error: { type: 'api_error', message: 'Internal server error' } })))).toEqual([
      { error: { message: 'Internal server error', type: 'api_error', code: 'upstream_error', param: null } },
    ])
    const cut = new MessageEventsToChunks(false)
    cut.push(anthropicEvent('message_start', { message: { id: 'msg_1', model: 'm' } }))
    expect(payloads(cut.end())[0].error.message).toContain('ended before it finished')
  })
})

describe('request translation', () => {
  const reject = (f: () => unknown, field: string) => {
    try {
      f()
    } catch (e) {
      expect(e).toBeInstanceOf(GatewayError)
      expect((e as GatewayError).status).toBe(400)
      expect((e as GatewayError).message).toContain(field)
      return
    }
    throw new Error('expected a 400')
  }

  test('chat → messages: several system messages, consecutive user turns merged, parallel tool calls off, default max_tokens', () => {
    const out = chatRequestToMessages(
      {
        messages: [
          { role: 'system', content: 'A' },
          { role: 'developer', content: [{ type: 'text', text: 'B' }] },
          { role: 'user', content: 'one' },
          { role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://example.com/cat.png' } }] },
        ],
        tools: [{ type: 'function', function: { name: 'f' } }],
        parallel_tool_calls: false,
        stop: 'END',
        user: 'u-1',
      },
      { defaultMaxOutputTokens: 1234 },
    )
    expect(out).toEqual({
      max_tokens: 1234,
      system: [{ type: 'text', text: 'A' }, { type: 'text', text: 'B' }],
      messages: [{ role: 'user', content: [{ type: 'text', text: 'one' }, { type: 'image', source: { type: 'url', url: 'https://example.com/cat.png' } }] }],
      stop_sequences: ['END'],
      tools: [{ name: 'f', input_schema: { type: 'object', properties: {} } }],
      tool_choice: { type: 'auto', disable_parallel_tool_use: true },
      metadata: { user_id: 'u-1' },
    })
  })

  test('chat → messages refuses what Anthropic cannot take, naming the field', () => {
    const o = { defaultMaxOutputTokens: 10 }
    reject(() => chatRequestToMessages({ n: 2, messages: [{ role: 'user', content: 'x' }] }, o), 'n:')
    reject(() => chatRequestToMessages({ messages: [{ role: 'assistant', tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{oops' } }] }] }, o), 'messages[0].tool_calls[0].function.arguments')
    reject(() => chatRequestToMessages({ messages: [{ role: 'function', content: 'x' }] }, o), 'messages[0].role')
    const asking: Record<string, unknown> = {
      logprobs: true, top_logprobs: 2, frequency_penalty: 0.5, presence_penalty: -1, logit_bias: { '50256': -100 },
      modalities: ['text', 'audio'], audio: { voice: 'alloy', format: 'wav' }, prediction: { type: 'content', content: 'x' },
      web_search_options: {},
    }
    for (const [field, value] of Object.entries(asking))
      reject(() => chatRequestToMessages({ messages: [{ role: 'user', content: 'x' }], [field]: value }, o), `${field}:`)
  })

  test('chat → messages serves the defaults of those fields and leaves out hints that change nothing', () => {
    const out = chatRequestToMessages(
      {
        messages: [{ role: 'user', content: 'x' }], logprobs: false, top_logprobs: 0, frequency_penalty: 0, presence_penalty: 0,
        logit_bias: {}, modalities: ['text'], seed: 7, store: false, service_tier: 'auto', metadata: { app: 'a' },
      },
      { defaultMaxOutputTokens: 10 },
    )
    expect(out).toEqual({ max_tokens: 10, messages: [{ role: 'user', content: [{ type: 'text', text: 'x' }] }] })
  })

  test('messages → chat: OpenAI\'s own API gets max_completion_tokens; images become data URLs; error results say so', () => {
    const out = messagesRequestToChat(
      {
        max_tokens: 50,
        system: [{ type: 'text', text: 'S' }],
        messages: [
          { role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: 'AAAA' } }, { type: 'text', text: 'what is it' }] },
          { role: 'assistant', content: [{ type: 'thinking', thinking: 'x', signature: 's' }, { type: 'tool_use', id: 't1', name: 'f', input: { a: 1 } }] },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', is_error: true, content: 'no such thing' }] },
        ],
        stream: true,
      },
      { outputCapField: 'max_completion_tokens' },
    )
    expect(out).toEqual({
      max_completion_tokens: 50,
      messages: [
        { role: 'system', content: 'S' },
        { role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/jpeg;base64,AAAA' } }, { type: 'text', text: 'what is it' }] },
        { role: 'assistant', content: null, tool_calls: [{ id: 't1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }] },
        { role: 'tool', tool_call_id: 't1', content: 'Error: no such thing' },
      ],
      stream: true,
      stream_options: { include_usage: true },
    })
  })

  test('structured output: a JSON schema crosses both ways; JSON mode without a schema is refused for Anthropic', () => {
    const schema = { type: 'object', properties: { a: { type: 'string' } } }
    const toAnthropic = chatRequestToMessages(
      { messages: [{ role: 'user', content: 'x' }], response_format: { type: 'json_schema', json_schema: { name: 'thing', schema } } },
      { defaultMaxOutputTokens: 10 },
    )
    expect(toAnthropic.output_config).toEqual({ format: { type: 'json_schema', schema } })
    reject(() => chatRequestToMessages({ messages: [{ role: 'user', content: 'x' }], response_format: { type: 'json_object' } }, { defaultMaxOutputTokens: 10 }), 'response_format')

    const toOpenAI = (schema: unknown) => messagesRequestToChat(
      { max_tokens: 5, messages: [{ role: 'user', content: 'x' }], output_config: { format: { type: 'json_schema', schema } } },
      { outputCapField: 'max_tokens' },
    )
    // Anthropic's format is always constrained decoding: OpenAI's only with strict, which it takes only for a
    // schema whose objects close their properties and require them all; another goes loose, as OpenAI would refuse it.
    const closed = { ...schema, required: ['a'], additionalProperties: false }
    expect(toOpenAI(closed).response_format).toEqual({ type: 'json_schema', json_schema: { name: 'output', schema: closed, strict: true } })
    expect(toOpenAI(schema).response_format).toEqual({ type: 'json_schema', json_schema: { name: 'output', schema } })
  })

  test('messages → chat refuses Anthropic server tools', () => {
    reject(
      () => messagesRequestToChat({ max_tokens: 5, messages: [{ role: 'user', content: 'x' }], tools: [{ type: 'web_search_20250305', name: 'web_search' }] }, { outputCapField: 'max_tokens' }),
      'tools[0]',
    )
  })
})

describe('response translation', () => {
  test('a refusal and a length stop survive the trip', () => {
    const message = completionToMessage({
      id: 'c1', model: 'm', choices: [{ message: { role: 'assistant', content: null, refusal: 'I cannot.' }, finish_reason: 'length' }],
      usage: { prompt_tokens: 3, completion_tokens: 2 },
    })
    expect(message).toMatchObject({ content: [{ type: 'text', text: 'I cannot.' }], stop_reason: 'max_tokens', usage: { input_tokens: 3, output_tokens: 2 } })

    const completion = messageToCompletion({ id: 'msg', model: 'm', content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }], stop_reason: 'max_tokens', usage: { input_tokens: 1, output_tokens: 2, cache_read_input_tokens: null } })
    expect(completion.choices[0]).toMatchObject({ message: { content: 'ab' }, finish_reason: 'length' })
    expect(completion.usage).toMatchObject({ prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 })
  })
})

describe('usage translated', () => {
  // Before: only `prompt_tokens_details.cached_tokens` was read, so an Anthropic or Responses client of a server that
  // reports its cache elsewhere saw every prompt token as uncached input (and no cache writes), while the gateway
  // billed them at the cache rates.
  const chat = (usage: Record<string, unknown>) => ({ id: 'c', model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'a' }, finish_reason: 'stop' }], usage })

  test('cache reads and writes reach an Anthropic client wherever the server reports them (Moonshot, DeepSeek, OpenRouter)', () => {
    expect(completionToMessage(chat({ prompt_tokens: 10_000, completion_tokens: 5, cached_tokens: 8_000 })).usage).toEqual({
      input_tokens: 2_000, output_tokens: 5, cache_read_input_tokens: 8_000, cache_creation_input_tokens: 0,
    })
    expect(completionToMessage(chat({ prompt_tokens: 100, completion_tokens: 5, prompt_cache_hit_tokens: 60, prompt_cache_miss_tokens: 40 })).usage).toMatchObject({
      input_tokens: 40, cache_read_input_tokens: 60,
    })
    expect(completionToMessage(chat({ prompt_tokens: 100, completion_tokens: 5, prompt_tokens_details: { cached_tokens: 10, cache_write_tokens: 70 } })).usage).toEqual({
      input_tokens: 20, output_tokens: 5, cache_read_input_tokens: 10, cache_creation_input_tokens: 70,
    })
  })

  test('cache reads reach a Responses client wherever the server reports them', () => {
    expect(completionToResponse(chat({ prompt_tokens: 10_000, completion_tokens: 5, cached_tokens: 8_000 }), {}).usage).toMatchObject({
      input_tokens: 10_000, input_tokens_details: { cached_tokens: 8_000 },
    })
  })
})

describe('stop reasons', () => {
  test('a reason named like an Object property maps to the default, not to the prototype', () => {
    for (const odd of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
      expect(finishReasonOf(odd, false)).toBe('stop')
      expect(stopReasonOf(odd, false)).toBe('end_turn')
    }
    expect(finishReasonOf('max_tokens', false)).toBe('length')
    expect(stopReasonOf('tool_calls', false)).toBe('tool_use')
  })
})

describe('estimateMessages', () => {
  const o = { defaultMaxOutputTokens: 999, mediaPartTokens: 100 }
  const image = { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'A'.repeat(50_000) } }

  test('inline images count their base64 bytes, wherever they are (never less than the media bound); output is max_tokens', () => {
    const est = estimateMessages(
      {
        max_tokens: 64,
        system: 'sys',
        messages: [
          { role: 'user', content: [image, { type: 'text', text: 'hi' }] },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't', content: [image] }] },
        ],
      },
      o,
    )
    expect(est.outputTokens).toBe(64)
    expect(est.inputTokens).toBeGreaterThanOrEqual(2 * 50_000 + 3 + 2 + 2 * PER_MESSAGE_OVERHEAD)
    expect(est.inputTokens).toBeLessThan(2 * 50_000 + 400)
  })

  test('a plain-text document counts its text; tools count', () => {
    const text = 'x'.repeat(5000)
    const est = estimateMessages(
      { max_tokens: 1, messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'text', media_type: 'text/plain', data: text } }] }], tools: [{ name: 'f', input_schema: {} }] },
      o,
    )
    expect(est.inputTokens).toBeGreaterThan(5000)
  })
})
