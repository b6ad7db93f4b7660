import { afterAll, expect, test } from 'bun:test'
import type { StreamFacts } from '../src/metering/metered-stream'
import { meterOpenAIStream } from '../src/metering/openai-stream'
import { upstreamSignal, type UpstreamSignal } from '../src/providers/upstream'

/**
 * A cut made while no read waits (the whole call's timeout, the gateway's stop) first reads what has arrived of the
 * provider's body through the meter (`endWithArrived`), up to a second while the provider is still at work. A client
 * that hangs up during that look waits for it: what the look read is output the provider made and sent (SPEC §6: a
 * stream cut mid-way "is charged what was generated so far"), and the stream ends as the client's cut. Before, the
 * client's cut aborted the call at once: the look's pending read failed, what it had read was dropped, and the stream
 * was paid only what had been passed on (here nothing). (stream-client-left-during-let-go.test.ts: the let-go's look.)
 */
const encoder = new TextEncoder()
const chunk = (content: string) =>
  `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { content }, finish_reason: null }] })}\n\n`
const PIECE = 'abcdefgh '.repeat(100)
const PIECES = 50

// A real HTTP upstream (its body fails with the call's abort, as a provider's does) whose body stays open after what it sent.
const provider = Bun.serve({
  port: 0,
  hostname: '127.0.0.1',
  fetch: () =>
    new Response(new ReadableStream<Uint8Array>({ start: (c) => c.enqueue(encoder.encode(chunk(PIECE).repeat(PIECES))) }), {
      headers: { 'content-type': 'text/event-stream' },
    }),
})
afterAll(() => provider.stop(true))

/** A metered stream its client never reads, over a call whose signal is `signal`. */
async function unreadStream(signal: UpstreamSignal) {
  const response = await fetch(`http://127.0.0.1:${provider.port}/`, { signal: signal.signal })
  let facts: StreamFacts | undefined
  const out = meterOpenAIStream(response.body!, { idleTimeoutMs: 60_000, signal, onEnd: (f) => (facts = f), passUsage: true })
  return { out, facts: () => facts }
}

test('a client that hangs up during the call timeout’s look pays all the output that had arrived', async () => {
  const signal = upstreamSignal(200)
  const { out, facts } = await unreadStream(signal)
  // The timeout's look has read what arrived, and waits on a provider still at work.
  await Bun.sleep(400)
  await out.cancel()
  expect(facts()).toMatchObject({ end: 'cancelled', deliveredOutputBytes: PIECE.length * PIECES })
  expect(signal.reason()).toBe('client')
})

test('a client that hangs up during the stop’s look pays all the output that had arrived', async () => {
  const stopping = new AbortController()
  const signal = upstreamSignal(60_000, undefined, stopping.signal)
  const { out, facts } = await unreadStream(signal)
  await Bun.sleep(100)
  stopping.abort()
  // The stop's look lasts a quarter of a second.
  await Bun.sleep(100)
  await out.cancel()
  expect(facts()).toMatchObject({ end: 'cancelled', deliveredOutputBytes: PIECE.length * PIECES })
})

test('a client whose request is aborted during the look, before its stream’s cancel, pays the same', async () => {
  const client = new AbortController()
  const signal = upstreamSignal(200, client.signal)
  const { out, facts } = await unreadStream(signal)
  await Bun.sleep(400)
  client.abort()
  // The stream ends once the look has read: what the client would read next is its end.
  const rest = await new Response(out).text()
  expect(rest).toContain('"error"')
  expect(facts()).toMatchObject({ end: 'cancelled', deliveredOutputBytes: PIECE.length * PIECES })
  expect(signal.reason()).toBe('client')
})
