/**
 * A paid stream keeps its provider-call slot and its hold until it ends, and its route switches the connection's
 * idle timeout off while it runs. A client that asks for a stream and then reads nothing stops the gateway's reads
 * of the provider (its backpressure stops ours), and nothing else ended the stream before the whole call's timeout
 * (600 s by default): a few such connections, each paying only the little output read before it stalled, kept every
 * provider-call slot, and every other user's paid calls got 503 `upstream_busy`, for ten minutes, renewable at will.
 * As for the bodies passed through (speech's audio, the free calls), a stream whose client takes nothing of what was
 * read for the upstream idle timeout is now let go: settled as a stream its client cut (`aborted`, the input estimate
 * plus the output generated so far: what the client was handed and what had arrived from the provider besides), its
 * slot given back, the provider's body cancelled. The provider here is still at work (its stream stays open): one
 * that had finished is paid by its usage (stream-let-go-usage-buffered.test.ts).
 */
import { expect, test } from 'bun:test'
import { connect } from 'node:net'
import { STREAM_ERRORS } from '../src/metering/metered-stream'
import { withSlotsGateway } from './support/idle-timeout-gateway'
import { unchunked } from './support/raw-http'
import { waitFor } from './support/wait-for'
import { jsonResponse, openAIEvent, openStream } from './support/scripted-upstream'

const SLOTS = 2
const PIECE = 'abcdefgh '.repeat(910) // ~8 KB of output per chunk
const PIECES = 2_000 // ~16 MB so far: far more than the sockets' buffers take in, so the relay waits on the client
const base = { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'm' }
const events = [openAIEvent({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] })]
for (let i = 0; i < PIECES; i++) events.push(openAIEvent({ ...base, choices: [{ index: 0, delta: { content: PIECE }, finish_reason: null }] }))

// Bun's idle timeout at 5 s: a let-go connection has it back, and the readers must read again within it (below).
// Bun counts idle timeouts in ticks of 4 s (uSockets' granularity): 1 s fires at the next tick, 0–4 s after it is
// set; 5 s, 4–8 s after.
const slots = withSlotsGateway('stream-reader', SLOTS, 5)

/** The output a client was given: every content delta's UTF-8 bytes. */
function deliveredBytes(text: string): number {
  let bytes = 0
  for (const m of text.matchAll(/"delta":\{"content":("(?:[^"\\]|\\.)*")/g)) bytes += Buffer.byteLength(JSON.parse(m[1]!))
  return bytes
}

test("streams whose clients read nothing do not refuse every other user's paid calls past the idle timeout, and are charged what they read", async () => {
  const { upstream, gw, reader, other, sockets } = slots
  upstream.answer((call) =>
    call.body.stream
      ? openStream(events)()
      : jsonResponse({ id: 'c1', object: 'chat.completion', model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }], usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 } }),
  )
  const { hostname, port } = new URL(gw.url)
  // No max_tokens, cap-output off (the default): the hold does not bound the output, so the count is charged whole.
  const body = JSON.stringify({ model: 'plain:m', stream: true, messages: [{ role: 'user', content: 'Tell me everything.' }] })
  const received: string[] = []
  const closed: Promise<void>[] = []
  for (let i = 0; i < SLOTS; i++) {
    const s = connect(Number(port), hostname)
    const at = received.push('') - 1
    s.on('data', (chunk: Buffer) => void (received[at] += chunk.toString('latin1')))
    s.on('error', () => {})
    closed.push(new Promise((resolve) => s.on('close', () => resolve())))
    s.pause() // never reads a byte of the stream, but stays connected
    s.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: Bearer ${reader}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`)
    sockets.push(s)
  }
  for (let i = 0; i < 100 && upstream.calls.length < SLOTS; i++) await Bun.sleep(20)
  expect(upstream.calls.length).toBe(SLOTS)

  // Let go once each took nothing for the upstream idle timeout (1 s, then a second's look at what had arrived): more
  // than twice both idle timeouts (Bun's listener's, off while the stream runs, and the upstream's), far under the
  // 600 s call timeout.
  const usageRows = () => gw.query<{ n: number }>("SELECT count(*) AS n FROM usage WHERE user_id = 'stream-reader'")[0]!.n
  expect(await waitFor(15_000, () => usageRows() === SLOTS)).toBe(true)
  // The readers read again at once: a let-go connection has its idle timeout back, and one that goes on taking
  // nothing past it is closed, what was still queued with it. With 1 s, that window was the next 4-s tick, which
  // came while the readers drained on loaded machines (the settlement seen 3.7–3.9 s in, closed at the tick ~4.0 s,
  // ~4 MB received of ~4.3, no error event, no end: every run of four copies beside two busy loops). What the gateway
  // had queued for them reaches them, then the error event and the end, short of the whole answer. Their slots went
  // back when their streams were settled, not with their connections, which stay open meanwhile, draining, then
  // idle until that timeout.
  for (const s of sockets) s.resume()
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${other}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'plain:m', messages: [{ role: 'user', content: 'hi' }], max_tokens: 16 }),
  })
  const text = await res.text()
  expect({ status: res.status, code: res.status === 200 ? null : JSON.parse(text).error?.code }).toEqual({ status: 200, code: null })

  const allClosed = await Promise.race([Promise.all(closed).then(() => true), Bun.sleep(10_000).then(() => false)])
  expect(allClosed).toBe(true)
  await gw.settled()
  const rows = gw.query<{ status: string; cost: number; prompt_tokens: number; completion_tokens: number }>(
    "SELECT status, cost, prompt_tokens, completion_tokens FROM usage WHERE user_id = 'stream-reader' ORDER BY completion_tokens",
  )
  const bodies = received.map(unchunked)
  const given = bodies.map(deliveredBytes).sort((a, b) => a - b)
  for (const got of bodies) expect(got).toContain(STREAM_ERRORS.unread)
  expect(given.every((bytes) => bytes > 0 && bytes < PIECES * PIECE.length)).toBe(true)
  // Settled as streams their clients cut: the input estimate and every byte of output the provider sent (all of it had
  // reached the gateway: more than the clients were handed), at $1 and $2 per million.
  expect(rows.map((r) => r.status)).toEqual(['aborted', 'aborted'])
  expect(rows.map((r) => r.completion_tokens)).toEqual([PIECES * PIECE.length, PIECES * PIECE.length])
  for (const r of rows) expect(r.cost).toBe(r.prompt_tokens + 2 * r.completion_tokens)
}, 40_000)
