import { afterAll, beforeAll, expect, test } from 'bun:test'
import type { StreamFacts } from '../src/metering/metered-stream'
import { meterResponsesStream } from '../src/metering/responses-stream'
import { upstreamSignal } from '../src/providers/upstream'
import type { TestGateway } from './support/gateway'
import { scriptedGateway, sseResponse, type ScriptedUpstream, postResponses } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'

/**
 * A usage of zeros beside output is no usage (README; relay.ts usageBesideOutput, outcome.ts outputDeniedByUsage).
 * A Responses stream whose output comes only in its final event (`response.completed` listing the message, no
 * deltas, as a proxy that buffers may send it) with a usage of zeros: the client gets the whole text, and the
 * stream must not be free (SPEC §6). The meter counts a final response's output items for what no earlier event
 * counted of them, so that output is delivered output, which a usage of zeros does not deny. Rates: 1 µ$ an input token, 2 µ$ an output token (scriptedGateway).
 */
const USER = 'responses-stream-final-only'
let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string
let stop: () => Promise<void>
beforeAll(async () => {
  ;({ upstream, gw, secret, stop } = await scriptedGateway(USER))
})
afterAll(() => stop())

const event = (e: Record<string, unknown>, i: number) => `event: ${String(e.type)}\ndata: ${JSON.stringify({ ...e, sequence_number: i })}\n\n`

test('output carried only by the final event, beside a usage of zeros, is paid', async () => {
  const text = 'x'.repeat(4_000)
  const response = { id: 'resp_final_only', object: 'response', status: 'in_progress', output: [], usage: null }
  upstream.answer(() => sseResponse([
    { type: 'response.created', response },
    { type: 'response.completed', response: { ...response, status: 'completed', output: [{ id: 'msg_final_only', type: 'message', role: 'assistant', content: [{ type: 'output_text', text, annotations: [] }] }], usage: { input_tokens: 0, output_tokens: 0, total_tokens: 0 } } },
  ].map(event)))
  const row = await settledRow(gw, USER, async () => {
    const res = await postResponses(gw, secret, { model: 'plain:m', input: 'write', max_output_tokens: 2_000, stream: true })
    expect(res.status).toBe(200)
    expect(await res.text()).toContain(text)
  })
  expect(row.cost).toBeGreaterThan(0)
})

test('the meter counts a final event\'s output once, however often it is restated', async () => {
  const text = 'y'.repeat(1_000)
  const message = { id: 'msg_1', type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text, annotations: [] }] }
  const response = { id: 'resp_1', object: 'response', status: 'completed', output: [message], usage: { input_tokens: 5, output_tokens: 250, total_tokens: 255 } }
  async function delivered(events: Array<Record<string, unknown>>): Promise<StreamFacts> {
    let facts: StreamFacts | undefined
    const out = meterResponsesStream(sseResponse(events.map(event)).body!, { idleTimeoutMs: 5_000, signal: upstreamSignal(5_000), onEnd: (f) => (facts = f) })
    await new Response(out).text()
    return facts!
  }
  const streamed = [
    { type: 'response.output_item.added', output_index: 0, item: { ...message, status: 'in_progress', content: [] } },
    { type: 'response.output_text.delta', item_id: 'msg_1', output_index: 0, content_index: 0, delta: text },
    { type: 'response.output_item.done', output_index: 0, item: message },
  ]
  const final = { type: 'response.completed', response }
  // Only in the final event, twice (a proxy's repeat): counted once, and its usage stands.
  const onlyFinal = await delivered([final, final])
  expect({ bytes: onlyFinal.deliveredOutputBytes, usage: onlyFinal.usage?.completionTokens }).toEqual({ bytes: text.length, usage: 250 })
  // Streamed first, then restated by the final event: not counted again.
  expect((await delivered([...streamed, final])).deliveredOutputBytes).toBe(text.length)
  // Streamed by deltas alone (no item events), the final event names it by id: not counted again.
  expect((await delivered([streamed[1]!, final])).deliveredOutputBytes).toBe(text.length)
})
