import { describe, expect, test } from 'bun:test'
import type { StreamFacts } from '../src/metering/metered-stream'
import { meterResponsesStream, type ResponseFacts } from '../src/metering/responses-stream'
import { upstreamSignal } from '../src/providers/upstream'

/** Feeds the meter these events and collects what the client receives, what was metered, and the responses it saw. */
async function meter(events: Array<Record<string, unknown>>) {
  const encoder = new TextEncoder()
  const upstream = new ReadableStream<Uint8Array>({
    start(c) {
      events.forEach((e, i) => c.enqueue(encoder.encode(`event: ${e.type}\ndata: ${JSON.stringify({ ...e, sequence_number: i })}\n\n`)))
      c.close()
    },
  })
  let facts: StreamFacts | undefined
  const seen: ResponseFacts[] = []
  const out = meterResponsesStream(upstream, { idleTimeoutMs: 5_000, signal: upstreamSignal(5_000), onEnd: (f) => (facts = f), onResponse: (r) => seen.push(r) })
  const text = await new Response(out).text()
  return { text, facts: facts!, seen }
}

const created = { type: 'response.created', response: { id: 'resp_1', status: 'in_progress', output: [] } }
const usage = { input_tokens: 10, input_tokens_details: { cached_tokens: 4 }, output_tokens: 7, output_tokens_details: { reasoning_tokens: 3 } }
const ended = (type: string) => ({ type, response: { id: 'resp_1', usage } })

describe('Responses stream meter', () => {
  for (const type of ['response.completed', 'response.incomplete'])
    test(`${type} ends the stream: usage read once, cached inside input, reasoning inside output`, async () => {
      const { facts, seen } = await meter([created, { type: 'response.output_text.delta', delta: 'hé' }, ended(type)])
      expect(facts).toEqual({ end: 'done', usage: { promptTokens: 10, completionTokens: 7, cachedTokens: 4, serverToolUses: {} }, deliveredOutputBytes: 3, serverToolUses: {} })
      expect(seen.map((r) => r.id)).toEqual(['resp_1', 'resp_1'])
    })

  test('response.failed ends the stream as failed, with the usage it reports', async () => {
    const { facts } = await meter([created, { type: 'response.output_text.delta', delta: 'abc' }, ended('response.failed')])
    expect(facts).toEqual({ end: 'failed', usage: { promptTokens: 10, completionTokens: 7, cachedTokens: 4, serverToolUses: {} }, deliveredOutputBytes: 3, serverToolUses: {} })
  })

  // Every kind of streamed output counts towards what a cut stream pays.
  const KINDS: Array<[string, Record<string, unknown>, number]> = [
    ['output text', { type: 'response.output_text.delta', delta: 'four' }, 4],
    ['refusal', { type: 'response.refusal.delta', delta: 'no way' }, 6],
    ['reasoning summary', { type: 'response.reasoning_summary_text.delta', delta: 'think' }, 5],
    ['reasoning text', { type: 'response.reasoning_text.delta', delta: 'thought' }, 7],
    ['function call arguments', { type: 'response.function_call_arguments.delta', delta: '{"city":' }, 8],
    ['custom tool input', { type: 'response.custom_tool_call_input.delta', delta: '*** Begin' }, 9],
    ['audio', { type: 'response.audio.delta', delta: 'AAAAAAAA' }, 8],
    ['audio transcript', { type: 'response.audio.transcript.delta', delta: 'spoken' }, 6],
    ['code interpreter code', { type: 'response.code_interpreter_call_code.delta', delta: 'print(1)' }, 8],
    ['MCP call arguments', { type: 'response.mcp_call_arguments.delta', delta: '{"q":1}' }, 7],
    ['partial image', { type: 'response.image_generation_call.partial_image', partial_image_b64: 'iVBORw0K' }, 8],
  ]
  for (const [kind, event, n] of KINDS)
    test(`a stream cut after ${kind} has counted it as delivered output`, async () => {
      const { facts, text } = await meter([created, event])
      expect(facts).toEqual({ end: 'truncated', usage: null, deliveredOutputBytes: n, serverToolUses: {} })
      // The client learns the stream broke, in the Responses format, numbered after the last event.
      expect(text).toContain('event: error\ndata: {"type":"error","code":"upstream_error"')
      expect(text).toContain('"sequence_number":2')
    })

  // A `.done` event or a part restates what the deltas before it delivered: counted only where no delta came.
  test('the whole forms of output already streamed count nothing more', async () => {
    const part = (text: string) => ({ type: 'output_text', text, annotations: [] })
    const message = (text: string) => ({ type: 'message', id: 'msg_1', role: 'assistant', status: 'completed', content: [part(text)] })
    const call = (args: string) => ({ type: 'function_call', id: 'fc_1', call_id: 'call_1', name: 'f', arguments: args, status: 'completed' })
    const { facts } = await meter([
      created,
      { type: 'response.output_item.added', output_index: 0, item: { ...message(''), status: 'in_progress', content: [] } },
      { type: 'response.content_part.added', output_index: 0, content_index: 0, part: part('') },
      { type: 'response.output_text.delta', output_index: 0, content_index: 0, delta: 'counted once' },
      { type: 'response.output_text.done', output_index: 0, content_index: 0, text: 'counted once' },
      { type: 'response.content_part.done', output_index: 0, content_index: 0, part: part('counted once') },
      { type: 'response.output_item.done', output_index: 0, item: message('counted once') },
      { type: 'response.output_item.added', output_index: 1, item: { ...call(''), status: 'in_progress' } },
      { type: 'response.function_call_arguments.delta', output_index: 1, delta: '{}' },
      { type: 'response.function_call_arguments.done', output_index: 1, arguments: '{}' },
      { type: 'response.output_item.done', output_index: 1, item: call('{}') },
    ])
    // 12 bytes of text; the call's name (1, as it began) and its arguments (2).
    expect(facts.deliveredOutputBytes).toBe(12 + 1 + 2)
  })

  test("a reasoning item's encrypted_content, which comes only as the item ends, counts beside its streamed summary", async () => {
    const reasoning = (summary: string, encrypted: string | null) => ({ type: 'reasoning', id: 'rs_1', summary: summary ? [{ type: 'summary_text', text: summary }] : [], encrypted_content: encrypted })
    const { facts } = await meter([
      created,
      { type: 'response.output_item.added', output_index: 0, item: reasoning('', null) },
      { type: 'response.reasoning_summary_part.added', output_index: 0, summary_index: 0, part: { type: 'summary_text', text: '' } },
      { type: 'response.reasoning_summary_text.delta', output_index: 0, summary_index: 0, delta: 'thinking' },
      { type: 'response.reasoning_summary_text.done', output_index: 0, summary_index: 0, text: 'thinking' },
      { type: 'response.output_item.done', output_index: 0, item: reasoning('thinking', 'gAAAAABo') },
    ])
    expect(facts.deliveredOutputBytes).toBe(8 + 8)
  })

  test('output that comes only whole counts once, however many events restate it', async () => {
    const { facts } = await meter([
      created,
      { type: 'response.output_item.added', output_index: 0, item: { type: 'message', content: [] } },
      { type: 'response.output_text.done', output_index: 0, content_index: 0, text: 'counted once' },
      { type: 'response.content_part.done', output_index: 0, content_index: 0, part: { type: 'output_text', text: 'counted once' } },
      { type: 'response.output_item.done', output_index: 0, item: { type: 'message', content: [{ type: 'output_text', text: 'counted once' }] } },
    ])
    expect(facts.deliveredOutputBytes).toBe(12)
  })

  test('hosted calls count from the moment they begin, once each; a container named only when its call closes is one container', async () => {
    const search = (id: string, status: string) => ({ id, type: 'web_search_call', status })
    const run = (id: string, container?: string) => ({ id, type: 'code_interpreter_call', status: 'in_progress', ...(container ? { container_id: container } : {}) })
    const { facts } = await meter([
      created,
      { type: 'response.output_item.added', output_index: 0, item: search('ws_1', 'in_progress') },
      { type: 'response.output_item.done', output_index: 0, item: search('ws_1', 'completed') },
      { type: 'response.output_item.added', output_index: 1, item: run('ci_1') },
      { type: 'response.output_item.done', output_index: 1, item: run('ci_1', 'cntr_a') },
      { type: 'response.output_item.added', output_index: 2, item: run('ci_2', 'cntr_a') },
      { type: 'response.output_item.added', output_index: 3, item: search('ws_2', 'in_progress') },
    ])
    expect(facts.end).toBe('truncated')
    expect(facts.serverToolUses).toEqual({ web_search: 2, code_interpreter: 1 })
  })
})
