import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { StreamFacts } from '../src/metering/metered-stream'
import { meterResponsesStream } from '../src/metering/responses-stream'
import { upstreamSignal } from '../src/providers/upstream'
import type { TestGateway } from './support/gateway'
import { scriptedGateway, sseResponse, type ScriptedUpstream } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'

/**
 * A Responses stream whose second output item arrives whole, in `response.output_item.done` only (a compatible
 * server that streams text but not its tool calls; the meter counts "`.done` for one whose start was not seen").
 * The item's 3,000-byte arguments are output the client got; the stream then fails (`error` event), so it is
 * charged its input estimate plus the output delivered (SPEC §6: "every kind of output counted from delivered
 * deltas"). The meter's count of the item being streamed was only started again by `output_item.added`, so it
 * took the previous item's bytes off this one and the call's arguments went uncounted. Counts are now the item's
 * each event names (by `output_index` or id).
 * Rates: 1 µ$ an input token, 2 µ$ an output token (scriptedGateway).
 */
let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string
let stop: () => Promise<void>
const USER = 'responses-item-done-only'
beforeAll(async () => {
  ;({ upstream, gw, secret, stop } = await scriptedGateway(USER))
})
afterAll(() => stop())

const TEXT = 'A'.repeat(3_000)
const ARGS = JSON.stringify({ text: 'B'.repeat(3_000) })
const CALL = { id: 'fc_1', type: 'function_call', status: 'completed', call_id: 'call_1', name: 'save', arguments: ARGS }
/** What the client is shown: the text, and the call's name and arguments. */
const DELIVERED = TEXT.length + 'save'.length + ARGS.length

const message = (status: string, text: string) => ({ id: 'msg_1', type: 'message', role: 'assistant', status, content: text ? [{ type: 'output_text', text, annotations: [] }] : [] })
const streamedMessage = [
  { type: 'response.created', response: { id: 'resp_1', object: 'response', status: 'in_progress', output: [], usage: null } },
  { type: 'response.output_item.added', output_index: 0, item: message('in_progress', '') },
  { type: 'response.content_part.added', item_id: 'msg_1', output_index: 0, content_index: 0, part: { type: 'output_text', text: '', annotations: [] } },
  { type: 'response.output_text.delta', item_id: 'msg_1', output_index: 0, content_index: 0, delta: TEXT },
  { type: 'response.output_text.done', item_id: 'msg_1', output_index: 0, content_index: 0, text: TEXT },
  { type: 'response.output_item.done', output_index: 0, item: message('completed', TEXT) },
]
const serverError = { type: 'error', code: 'server_error', message: 'The server had an error while processing your request.', param: null }

const sse = (events: Array<Record<string, unknown>>) => events.map((e, i) => `event: ${String(e.type)}\ndata: ${JSON.stringify({ ...e, sequence_number: i })}\n\n`)

test('a function call given whole in output_item.done after a streamed message counts as delivered output', async () => {
  upstream.answer(() => sseResponse(sse([...streamedMessage, { type: 'response.output_item.done', output_index: 1, item: CALL }, serverError])))
  const row = await settledRow(gw, USER, async () => {
    const res = await fetch(gw.url + '/v1/responses', {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'plain:m', stream: true, max_output_tokens: 20_000, input: 'Save a long text.',
        tools: [{ type: 'function', name: 'save', parameters: { type: 'object', properties: { text: { type: 'string' } } } }],
      }),
    })
    expect(res.status).toBe(200)
    expect(await res.text()).toContain('"call_id":"call_1"') // the client got the whole call
  })
  expect(row.status).toBe('error')
  // A byte counts as a token. Before: 3,015 (the text, and of the call's 3,015 bytes only the 15 past the
  // message's 3,000), ~6,000 µ$ of output unpaid.
  expect(row.completion_tokens).toBeGreaterThanOrEqual(TEXT.length + ARGS.length)
  expect(row.cost).toBeGreaterThanOrEqual(2 * (TEXT.length + ARGS.length))
})

describe('the meter counts each item once, however its events name it', () => {
  async function delivered(events: Array<Record<string, unknown>>): Promise<number> {
    let facts: StreamFacts | undefined
    const out = meterResponsesStream(sseResponse(sse(events)).body!, { idleTimeoutMs: 5_000, signal: upstreamSignal(5_000), onEnd: (f) => (facts = f) })
    await new Response(out).text()
    return facts!.deliveredOutputBytes
  }
  const byIdOnly = (e: Record<string, unknown>) => {
    const { output_index: _, ...rest } = e
    return rest
  }

  test('an item given whole in its .done after another item', async () => {
    expect(await delivered([...streamedMessage, { type: 'response.output_item.done', output_index: 1, item: CALL }])).toBe(DELIVERED)
  })

  test('an item streamed by deltas with no .added, then its .done: not counted twice', async () => {
    const half = ARGS.length / 2
    const events = [
      ...streamedMessage,
      { type: 'response.function_call_arguments.delta', item_id: 'fc_1', output_index: 1, delta: ARGS.slice(0, half) },
      { type: 'response.function_call_arguments.delta', item_id: 'fc_1', output_index: 1, delta: ARGS.slice(half) },
      { type: 'response.function_call_arguments.done', item_id: 'fc_1', output_index: 1, arguments: ARGS },
      { type: 'response.output_item.done', output_index: 1, item: CALL },
    ]
    expect(await delivered(events)).toBe(DELIVERED)
  })

  test('events that name their item by id alone', async () => {
    const events = [...streamedMessage, { type: 'response.output_item.done', output_index: 1, item: CALL }].map(byIdOnly)
    expect(await delivered(events)).toBe(DELIVERED)
  })
})
