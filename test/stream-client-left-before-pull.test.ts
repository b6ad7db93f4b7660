/**
 * A client can leave after the provider's headers came back but before Bun ever pulls the metered stream. Its
 * request's signal has then aborted the upstream signal (`client`), which `endWhenAbortedUnread` leaves to the
 * stream's cancel, and no later timeout can abort that signal again: were the stream never cancelled, it would never
 * end, its timers re-arming for as long as the process runs and its hold swept at the full amount. Bun cancels it: a
 * body handed over for a request whose client has gone is cancelled at once, and the stream ends `cancelled`, paid as
 * one its client cut.
 */
import { afterAll, expect, test } from 'bun:test'
import { connect } from 'node:net'
import type { StreamFacts } from '../src/metering/metered-stream'
import { meterOpenAIStream } from '../src/metering/openai-stream'
import { upstreamSignal, type UpstreamSignal } from '../src/providers/upstream'

const encoder = new TextEncoder()
const event = `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { content: 'hello' }, finish_reason: null }] })}\n\n`

// A provider whose stream stays open after its first event.
const provider = Bun.serve({
  port: 0,
  hostname: '127.0.0.1',
  fetch: () => new Response(new ReadableStream<Uint8Array>({ start: (c) => c.enqueue(encoder.encode(event)) }), { headers: { 'content-type': 'text/event-stream' } }),
})

let answered!: () => void
const providerAnswered = new Promise<void>((resolve) => (answered = resolve))
let signal: UpstreamSignal | undefined
const facts: StreamFacts[] = []

// The gateway's part: the provider called under the request's signal, and the metered stream handed to Bun only once
// the client has gone.
const gateway = Bun.serve({
  port: 0,
  hostname: '127.0.0.1',
  async fetch(req) {
    signal = upstreamSignal(60_000, req.signal)
    const res = await fetch(`http://127.0.0.1:${provider.port}/`, { signal: signal.signal })
    answered()
    while (!req.signal.aborted) await Bun.sleep(5)
    const metered = meterOpenAIStream(res.body!, { idleTimeoutMs: 100, signal, onEnd: (f) => facts.push(f), passUsage: true })
    return new Response(metered, { headers: { 'content-type': 'text/event-stream' } })
  },
})
afterAll(() => {
  gateway.stop(true)
  provider.stop(true)
})

test('a client gone before its stream is first pulled: the stream is cancelled and ends once, as cut by its client', async () => {
  const socket = connect(gateway.port!, '127.0.0.1')
  socket.on('error', () => {})
  socket.write('POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n')
  await providerAnswered
  socket.destroy()
  // Well past the stream's idle timeout: a stream never ended would still be waiting here.
  await Bun.sleep(500)
  // Nothing delivered: Bun never pulled it (a pull would have passed on the provider's "hello").
  expect({ reason: signal?.reason(), facts }).toEqual({ reason: 'client', facts: [{ end: 'cancelled', usage: null, deliveredOutputBytes: 0 }] })
})
