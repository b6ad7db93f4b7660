import { expect, test } from 'bun:test'
import type { StreamFacts } from '../src/metering/metered-stream'
import { meterResponsesStream } from '../src/metering/responses-stream'
import { upstreamSignal } from '../src/providers/upstream'

/**
 * A Responses stream's final event waits for the stored ids to be written (`untilRecorded`) before the client gets
 * it. The client is reading then: a pull is in flight, only not on the provider. The call's timeout (or the
 * gateway's stop) firing during that wait must not be taken for "no read waits" (`endWhenAbortedUnread`): the
 * provider has finished, the answer is paid in full by its usage, and the client must get it, not an error in
 * place of the events the meter already passed on. If the provider's body then never closes, the stream still ends
 * there (no later read would come to see the cut), as done: the provider had finished.
 */
test('an abort while the final event waits for its ids to be written does not cut the finished answer', async () => {
  const encoder = new TextEncoder()
  const usage = { input_tokens: 10, output_tokens: 7 }
  const events = [
    { type: 'response.created', response: { id: 'resp_1', status: 'in_progress', output: [] } },
    { type: 'response.output_text.delta', delta: 'hello' },
    { type: 'response.completed', response: { id: 'resp_1', status: 'completed', output: [], usage } },
  ]
  const upstream = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(encoder.encode(events.map((e, i) => `event: ${e.type}\ndata: ${JSON.stringify({ ...e, sequence_number: i })}\n\n`).join('')))
      c.close()
    },
  })
  let facts: StreamFacts | undefined
  // The call's timeout fires 30 ms in, while the ids' write (200 ms, a Postgres flush under load) is awaited.
  const signal = upstreamSignal(30)
  const out = meterResponsesStream(upstream, {
    idleTimeoutMs: 5_000,
    signal,
    onEnd: (f) => (facts = f),
    untilRecorded: () => Bun.sleep(200),
  })
  const text = await new Response(out).text()
  expect(signal.reason()).toBe('timeout')
  // What the client receives: the whole answer, not the gateway's failure event in its place.
  expect(text).toContain('"type":"response.completed"')
  expect(text).toContain('"delta":"hello"')
  // Before any failure event the gateway may add after it (the next read fails with the abort): the answer comes first.
  expect(text.indexOf('"type":"response.completed"')).toBeLessThan(text.includes('upstream_error') ? text.indexOf('upstream_error') : Infinity)
  // Settled by the usage the provider reported.
  expect(facts?.usage?.completionTokens).toBe(7)
})

test('cut while the final event waits, the provider never closing its body: the answer is passed on and the stream ends, done', async () => {
  const encoder = new TextEncoder()
  const usage = { input_tokens: 10, output_tokens: 7 }
  const events = [
    { type: 'response.created', response: { id: 'resp_2', status: 'in_progress', output: [] } },
    { type: 'response.output_text.delta', delta: 'hello' },
    { type: 'response.completed', response: { id: 'resp_2', status: 'completed', output: [], usage } },
  ]
  // The body stays open after the final event (a proxy that keeps the connection): no read ever returns done.
  const upstream = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(encoder.encode(events.map((e, i) => `event: ${e.type}\ndata: ${JSON.stringify({ ...e, sequence_number: i })}\n\n`).join('')))
    },
  })
  let facts: StreamFacts | undefined
  const signal = upstreamSignal(30)
  const out = meterResponsesStream(upstream, { idleTimeoutMs: 5_000, signal, onEnd: (f) => (facts = f), untilRecorded: () => Bun.sleep(200) })
  const text = await new Response(out).text()
  expect(signal.reason()).toBe('timeout')
  expect(text).toContain('"type":"response.completed"')
  expect(text).not.toContain('upstream_error')
  expect(facts).toMatchObject({ end: 'done', usage: { completionTokens: 7 } })
})
