/**
 * A client that reads a stream slowly but without pause (a slow link: a small read every few milliseconds) is not
 * "a client that takes nothing of it" (README, Capacity under load: a stream whose client takes nothing of it for
 * TOLLGATE_UPSTREAM_IDLE_TIMEOUT_MS is let go). The idle-reader rule (metered-stream.ts `clientWait`) can only see
 * the client take bytes when Bun pulls the metered stream again, which it does once what the last pull handed has
 * gone into the socket. When one pull handed the client everything one read of the provider gave (an event of many
 * megabytes: an image generation's partial image is one), that took longer than the idle timeout over a slow link,
 * and the steady reader was cut with the `unread` error, its answer lost, its row `aborted`.
 *
 * The kernel sets a floor under the time between pulls too: it wakes a blocked writer only once a third of the
 * socket's send buffer is free, and on loopback that buffer grows to 4 MB, so Bun pulls in bursts ~1.4 MB of the
 * client's reading apart (~0.7 s at 2 MB/s; at 1 MB/s and a 1 s idle timeout, no pull-based rule could see such a
 * reader progress). The idle timeout here is 2 s, over that floor, and under the time a 12 MB event took to drain.
 */
import { expect, test } from 'bun:test'
import { STREAM_ERRORS } from '../src/metering/metered-stream'
import type { TestGateway } from './support/gateway'
import { sseResponse, withScriptedGateway, type ScriptedUpstream } from './support/scripted-upstream'
import { finishedStream, PIECE, readSteadilyAs } from './support/steady-reader'

let upstream: ScriptedUpstream
let gw: TestGateway
withScriptedGateway({ pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2 } }, upstream_idle_timeout_ms: 2_000 }, (started) => {
  ;({ upstream, gw } = started)
})

/** The stream read by the steady client; what it got, and the row of its user. */
async function readSteadily(user: string, events: string[]) {
  upstream.answer(() => sseResponse(events))
  const body = { model: 'plain:m', stream: true, messages: [{ role: 'user', content: 'Tell me everything.' }] }
  const { gap, text, row } = await readSteadilyAs(gw, user, '/v1/chat/completions', body)
  return { gap, seen: { unreadError: text.includes(STREAM_ERRORS.unread), done: text.includes('data: [DONE]'), status: row?.status, billedOutput: row?.completion_tokens } }
}

test('a client reading steadily at ~2 MB/s an answer with a 12 MB event is not cut as unread: it gets the whole answer', async () => {
  const { events, outputTokens } = finishedStream(['abcdefgh '.repeat(1_333_336), ...Array.from({ length: 250 }, () => PIECE)])
  const { gap, seen } = await readSteadily('big-event-reader', events)
  // The client never went half the idle timeout without taking bytes (its own pauses are ~4 ms; the rest is the
  // gateway reading the 12 MB event whole before it passes it on: under 0.5 s here, 0.500 s once in a run of four test
  // workers on two cores). A pull for each 64 KB handed would see it take them, but the one that handed the event
  // whole came back only once ~8 MB had drained, past the idle timeout.
  expect(gap).toBeLessThan(1)
  // Cut there, it got the `unread` error for the end of its answer, and was billed every byte passed on as a token.
  expect(seen).toEqual({ unreadError: false, done: true, status: 'ok', billedOutput: outputTokens })
}, 60_000)

test('a client reading steadily at ~2 MB/s a 5 MB answer of 8 KB events is not cut as unread: it gets the whole answer', async () => {
  const { events, outputTokens } = finishedStream(Array.from({ length: 600 }, () => PIECE))
  const { gap, seen } = await readSteadily('many-events-reader', events)
  expect(gap).toBeLessThan(1)
  expect(seen).toEqual({ unreadError: false, done: true, status: 'ok', billedOutput: outputTokens })
}, 60_000)
