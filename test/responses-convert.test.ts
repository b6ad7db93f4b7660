import { describe, expect, test } from 'bun:test'
import { configSchema } from '../src/config/schema'
import { convertedText } from '../src/translate/convert-stream'
import { ChunksToResponseEvents } from '../src/translate/responses/chunks-to-response-events'
import { MessageEventsToResponseEvents } from '../src/translate/responses/message-events-to-response-events'
import { responsesRequestToMessages } from '../src/translate/responses/request-to-messages'
import { carryThinking } from '../src/translate/responses/reasoning-carrier'
import type { SseEvent } from '../src/translate/sse'

const o = { defaultMaxOutputTokens: 1000 }
const sse = (data: unknown): SseEvent => {
  const text = typeof data === 'string' ? data : JSON.stringify(data)
  return { event: null, data: text, raw: `data: ${text}` }
}
const typesOf = (out: string) => [...out.matchAll(/^event: (.+)$/gm)].map((m) => m[1])

describe('Responses → Anthropic request', () => {
  test('system and developer items join the instructions; reasoning from another model is dropped; Claude\'s goes back whole', () => {
    const thinking = { type: 'thinking', thinking: 'hmm', signature: 'sig' }
    const { request } = responsesRequestToMessages({
      instructions: 'Be brief.',
      input: [
        { role: 'developer', content: 'Use metric units.' },
        { role: 'user', content: 'hi' },
        { type: 'reasoning', id: 'rs_openai', summary: [], encrypted_content: 'gAAAAB-openai-secret' },
        { type: 'reasoning', id: 'rs_claude', summary: [], encrypted_content: carryThinking(thinking) },
        { role: 'assistant', content: [{ type: 'output_text', text: 'hello' }] },
      ],
    }, o)
    expect(request.system).toEqual([{ type: 'text', text: 'Be brief.' }, { type: 'text', text: 'Use metric units.' }])
    expect(request.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'hi' }] },
      { role: 'assistant', content: [thinking, { type: 'text', text: 'hello' }] },
    ])
  })

  test('every non-function tool is dropped and named; an item by reference needs stored state (400)', () => {
    const { request, dropped } = responsesRequestToMessages({
      input: 'hi',
      tools: [{ type: 'web_search' }, { type: 'custom', name: 'apply_patch' }, { type: 'function', name: 'f', parameters: { type: 'object' } }, { type: 'web_search' }],
      tool_choice: 'required',
      parallel_tool_calls: false,
    }, o)
    expect(dropped).toEqual(['web_search', 'custom'])
    expect(request.tools).toEqual([{ name: 'f', input_schema: { type: 'object' } }])
    expect(request.tool_choice).toEqual({ type: 'any', disable_parallel_tool_use: true })
    expect(() => responsesRequestToMessages({ input: [{ type: 'item_reference', id: 'msg_1' }] }, o)).toThrow(/stored state/)
  })

  test('thinking fits below max_tokens, leaving the answer the default max output (or half of max_tokens, if less), or is left off', () => {
    // The default max output here is 1000.
    expect(responsesRequestToMessages({ input: 'hi', reasoning: { effort: 'high' }, max_output_tokens: 5000, temperature: 0.2 }, o).request)
      .toMatchObject({ max_tokens: 5000, thinking: { type: 'enabled', budget_tokens: 4000 } })
    expect(responsesRequestToMessages({ input: 'hi', reasoning: { effort: 'high' }, max_output_tokens: 3000 }, { defaultMaxOutputTokens: 4096 }).request)
      .toMatchObject({ max_tokens: 3000, thinking: { type: 'enabled', budget_tokens: 1500 } })
    expect(responsesRequestToMessages({ input: 'hi', reasoning: { effort: 'low' }, max_output_tokens: 20_000 }, o).request)
      .toMatchObject({ max_tokens: 20_000, thinking: { type: 'enabled', budget_tokens: 2048 } })
    const small = responsesRequestToMessages({ input: 'hi', reasoning: { effort: 'low' }, max_output_tokens: 1024, temperature: 0.2 }, o).request
    expect(small.thinking).toBeUndefined()
    expect(small.temperature).toBe(0.2)
  })
})

describe('chat chunks → Responses events', () => {
  const chunk = (delta: unknown, finish: string | null = null, usage?: unknown) =>
    sse({ id: 'c1', model: 'm', choices: [{ index: 0, delta, finish_reason: finish }], ...(usage ? { usage } : {}) })

  test('a stream that ends with a finish reason and usage but no [DONE] is still completed', () => {
    const c = new ChunksToResponseEvents({})
    let out = convertedText(c.push(chunk({ role: 'assistant', content: 'Hi' }))) + convertedText(c.push(chunk({}, 'length')))
    out += convertedText(c.push(sse({ id: 'c1', model: 'm', choices: [], usage: { prompt_tokens: 3, completion_tokens: 1 } }))) + convertedText(c.end())
    const types = typesOf(out)
    expect(types[0]).toBe('response.created')
    expect(types.at(-1)).toBe('response.incomplete')
    expect(out).toContain('"usage":{"input_tokens":3')
  })

  test('a stream cut without a finish reason fails', () => {
    const c = new ChunksToResponseEvents({})
    const out = convertedText(c.push(chunk({ content: 'Hi' }))) + convertedText(c.end())
    expect(typesOf(out).at(-1)).toBe('response.failed')
  })
})

describe('a long delta', () => {
  // 40,000 units, a pair straddling the first piece's end (units 16,383 and 16,384).
  const text = 'a'.repeat(16_383) + '😀' + 'b'.repeat(23_615)
  const deltasOf = (out: string) => out.split('\n\n').filter((e) => e.startsWith('event: response.output_text.delta\n'))
    .map((e) => JSON.parse(e.slice(e.indexOf('data: ') + 6)) as { delta: string; sequence_number: number })
  const check = (converted: ReturnType<ChunksToResponseEvents['push']>) => {
    // The pieces are written in turn, when handed: nothing of that length is built when converted.
    expect(typeof converted).not.toBe('string')
    expect((converted as unknown[]).some((t) => typeof t === 'function')).toBe(true)
    const out = convertedText(converted)
    expect(out).not.toMatch(/\\ud83d|\\ude00/)
    const deltas = deltasOf(out)
    expect(deltas.map((d) => d.delta.length)).toEqual([16_383, 16_384, 7_233])
    expect(deltas.map((d) => d.delta).join('')).toBe(text)
    expect(deltas.map((d) => d.sequence_number - deltas[0]!.sequence_number)).toEqual([0, 1, 2])
  }

  test('from chat chunks comes as several output_text.delta events, each at most 16 Ki units, a surrogate pair never split', () => {
    const c = new ChunksToResponseEvents({})
    check(c.push(sse({ id: 'c1', model: 'm', choices: [{ index: 0, delta: { role: 'assistant', content: text }, finish_reason: null }] })))
  })

  test('from Anthropic events likewise', () => {
    const c = new MessageEventsToResponseEvents({})
    c.push(sse({ type: 'message_start', message: { id: 'msg_1', model: 'm', usage: { input_tokens: 1, output_tokens: 0 } } }))
    c.push(sse({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }))
    check(c.push(sse({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } })))
  })
})

describe('the responses provider setting', () => {
  const parse = (provider: Record<string, unknown>) =>
    configSchema.safeParse({ master_key: 'test-master-key-0123456789abcdef-0123456789', providers: { p: { base_url: 'http://127.0.0.1:1/v1', ...provider } } })

  test('native or chat for an openai provider; refused, naming the field, for an anthropic one or a misspelt value', () => {
    expect(parse({ type: 'openai', responses: 'chat' }).success).toBe(true)
    expect(parse({ type: 'openai' }).success).toBe(true)
    for (const bad of [{ type: 'anthropic', responses: 'native' }, { type: 'openai', responses: 'chats' }]) {
      const result = parse(bad)
      expect(result.success).toBe(false)
      expect(result.error!.issues[0]!.path).toEqual(['providers', 'p', 'responses'])
    }
  })
})
