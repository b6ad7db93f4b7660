import { afterAll, expect, test } from 'bun:test'
import type { StreamFacts } from '../src/metering/metered-stream'
import { meterResponsesStream } from '../src/metering/responses-stream'
import { upstreamSignal } from '../src/providers/upstream'

/**
 * The provider has sent its final event (`response.completed`, with usage) and the client has it; the provider's
 * body stays open (a proxy keeping the connection). The client reads on, so a pull waits on the provider for the
 * body's end, and the call's timeout (or the idle timeout) fires then: the read fails with the abort. That cut
 * ends the stream `done`, with no error event after the finished answer, as a cut between pulls or while the final
 * event waits for its ids does (`endAtCut`). Before, the pull's catch ended it `failed` and appended an error event:
 * the SDK raised on an answer that was complete and paid for, and the row said error.
 */
const encoder = new TextEncoder()
const usage = { input_tokens: 10, output_tokens: 7 }
const events = [
  { type: 'response.created', response: { id: 'resp_1', status: 'in_progress', output: [] } },
  { type: 'response.output_text.delta', delta: 'hello' },
  { type: 'response.completed', response: { id: 'resp_1', status: 'completed', output: [], usage } },
]
// A real HTTP upstream whose body never closes after the final event.
const provider = Bun.serve({
  port: 0,
  hostname: '127.0.0.1',
  fetch: () =>
    new Response(
      new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(encoder.encode(events.map((e, i) => `event: ${e.type}\ndata: ${JSON.stringify({ ...e, sequence_number: i })}\n\n`).join('')))
        },
      }),
      { headers: { 'content-type': 'text/event-stream' } },
    ),
})
afterAll(() => provider.stop(true))

test('a cut while the next read waits, after the final event was passed on, ends the stream done with no error event', async () => {
  const signal = upstreamSignal(150)
  const response = await fetch(`http://127.0.0.1:${provider.port}/`, { signal: signal.signal })
  let facts: StreamFacts | undefined
  const out = meterResponsesStream(response.body!, { idleTimeoutMs: 5_000, signal, onEnd: (f) => (facts = f) })
  const text = await new Response(out).text()
  expect(signal.reason()).toBe('timeout')
  expect(text).toContain('"type":"response.completed"')
  expect(text).not.toContain('upstream_error')
  expect(facts).toMatchObject({ end: 'done', usage: { completionTokens: 7 } })
})

test('the idle timeout firing while the next read waits, after the final event, ends the stream done with no error event', async () => {
  // The same cut by the idle timer: the provider finished, then its body sat open past the idle timeout.
  const signal = upstreamSignal(10_000)
  const response = await fetch(`http://127.0.0.1:${provider.port}/`, { signal: signal.signal })
  let facts: StreamFacts | undefined
  const out = meterResponsesStream(response.body!, { idleTimeoutMs: 150, signal, onEnd: (f) => (facts = f) })
  const text = await new Response(out).text()
  expect(signal.reason()).toBe('idle')
  expect(text).toContain('"type":"response.completed"')
  expect(text).not.toContain('upstream_error')
  expect(facts).toMatchObject({ end: 'done', usage: { completionTokens: 7 } })
})
