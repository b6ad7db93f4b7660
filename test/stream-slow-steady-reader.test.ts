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
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { STREAM_ERRORS } from '../src/metering/metered-stream'
import { startTestGateway, type TestGateway } from './support/gateway'
import { unchunked } from './support/raw-http'
import { openAIEvent, scriptedProviders, sseResponse, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'

const base = { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'm' }
/** A finished chat stream sent at once (a fast provider, a slower link): these deltas, stop, usage, [DONE]. */
function finishedStream(contents: string[]): { events: string[]; outputTokens: number } {
  const outputTokens = contents.reduce((sum, c) => sum + c.length, 0) / 4
  return {
    outputTokens,
    events: [
      openAIEvent({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] }),
      ...contents.map((content) => openAIEvent({ ...base, choices: [{ index: 0, delta: { content }, finish_reason: null }] })),
      openAIEvent({ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }),
      openAIEvent({ ...base, choices: [], usage: { prompt_tokens: 5, completion_tokens: outputTokens, total_tokens: 5 + outputTokens } }),
      openAIEvent('[DONE]'),
    ],
  }
}

/**
 * The client, in a Node process of its own: node:net with an 8 KB `onread` buffer takes at most 8 KB off the socket
 * per read, pausing between reads for as long as ~2 MB/s allows. Read that slowly, the kernel keeps its receive
 * buffer small (128 KB: it grows one only for a reader that takes much per read), so the gateway's writes meet TCP
 * backpressure, as a slow link's would. (Bun's sockets take up to 512 KB per read: their buffer grows to megabytes.)
 * Prints the text and the longest pause between two reads, in seconds.
 */
const READER = `
const { connect } = require('node:net')
const [port, host, request] = process.argv.slice(1)
const got = []
let gap = 0
let last = performance.now()
const socket = connect({
  port: Number(port),
  host,
  onread: {
    buffer: Buffer.alloc(8192),
    callback(bytes, buffer) {
      const now = performance.now()
      gap = Math.max(gap, now - last)
      last = now
      got.push(Buffer.from(buffer.subarray(0, bytes)))
      setTimeout(() => socket.resume(), bytes / 2000)
      return false
    },
  },
})
socket.on('end', () => process.stdout.write(JSON.stringify({ gap: gap / 1000, text: Buffer.concat(got).toString('latin1') })))
socket.on('error', (error) => {
  console.error(error)
  process.exit(1)
})
socket.write(request)
`

let upstream: ScriptedUpstream
let gw: TestGateway

beforeAll(async () => {
  upstream = startScriptedUpstream()
  gw = await startTestGateway({
    config: {
      providers: scriptedProviders(upstream),
      pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2 } },
      upstream_idle_timeout_ms: 2_000,
    },
  })
})
afterAll(async () => {
  await gw?.stop()
  await upstream?.stop()
})

/** The stream read by the steady client; what it got, and the row of its user. */
async function readSteadily(user: string, events: string[]) {
  const { secret } = await gw.userWithKey({ id: user, max_budget: 100 })
  upstream.answer(() => sseResponse(events))
  const { hostname, port } = new URL(gw.url)
  const body = JSON.stringify({ model: 'plain:m', stream: true, messages: [{ role: 'user', content: 'Tell me everything.' }] })
  const request = `POST /v1/chat/completions HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: Bearer ${secret}\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: ${body.length}\r\n\r\n${body}`
  const reader = Bun.spawn(['node', '-e', READER, port, hostname, request], { stdout: 'pipe' })
  const { gap, text: raw } = JSON.parse(await new Response(reader.stdout).text()) as { gap: number; text: string }
  const text = unchunked(raw)
  await gw.settled()
  const row = gw.query<{ status: string; completion_tokens: number }>('SELECT status, completion_tokens FROM usage WHERE user_id = ?', user)[0]
  return { gap, seen: { unreadError: text.includes(STREAM_ERRORS.unread), done: text.includes('data: [DONE]'), status: row?.status, billedOutput: row?.completion_tokens } }
}

const PIECE = 'abcdefgh '.repeat(912) // ~8 KB of output per event

test('a client reading steadily at ~2 MB/s an answer with a 12 MB event is not cut as unread: it gets the whole answer', async () => {
  const { events, outputTokens } = finishedStream(['abcdefgh '.repeat(1_333_336), ...Array.from({ length: 250 }, () => PIECE)])
  const { gap, seen } = await readSteadily('big-event-reader', events)
  // The client never went a quarter of the idle timeout without taking bytes (its own pauses are ~4 ms; the rest is
  // the gateway reading the 12 MB event whole before it passes it on). A pull for each 64 KB handed would see it
  // take them, but the one that handed the event whole came back only once ~8 MB had drained, past the idle timeout.
  expect(gap).toBeLessThan(0.5)
  // Cut there, it got the `unread` error for the end of its answer, and was billed every byte passed on as a token.
  expect(seen).toEqual({ unreadError: false, done: true, status: 'ok', billedOutput: outputTokens })
}, 60_000)

test('a client reading steadily at ~2 MB/s a 5 MB answer of 8 KB events is not cut as unread: it gets the whole answer', async () => {
  const { events, outputTokens } = finishedStream(Array.from({ length: 600 }, () => PIECE))
  const { gap, seen } = await readSteadily('many-events-reader', events)
  expect(gap).toBeLessThan(0.5)
  expect(seen).toEqual({ unreadError: false, done: true, status: 'ok', billedOutput: outputTokens })
}, 60_000)
