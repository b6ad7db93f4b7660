/**
 * Red team jo: a translated stream hands its client everything one read converted to, however large, so a client
 * reading it steadily over a slow link is cut as one that took nothing of it.
 *
 * README (Capacity under load): "a pull hands at most 64 KB (one handing everything a read gave, an event of many
 * megabytes, took a slow link longer than the timeout to drain, and a client reading steadily was cut)". That bound
 * is in the meter (src/metering/metered-stream.ts MAX_HANDED_BYTES); a translated stream puts convertStream
 * (src/translate/convert-stream.ts) between the meter and the client, which reads the meter's 64 KB pieces until an
 * event converts and enqueues the whole conversion at once (convert-stream.ts:40, :71). The meter's idle-client rule
 * (`clientWait`) sees the client take bytes only when convertStream pulls it again, which it does once the whole
 * converted event has drained: a 12 MB event at ~2 MB/s is 6 s, past the idle timeout (2 s here, as in
 * test/stream-slow-steady-reader.test.ts, whose reader and load this is), and the steady client is let go `unread`.
 * The provider sends the big event at once and the rest of its answer an event every 20 ms (still generating), so the
 * cut's look at what has arrived (`endWithArrived`) does not find the end. Native /v1/chat/completions passes (the
 * client's longest pause 0.3 s); /v1/messages served by the same OpenAI-compatible provider (messagesViaOpenAI, Claude
 * Code's route to a non-Anthropic model), its client's longest pause 0.64 s, gets the `unread` error instead of
 * message_stop, its row `aborted`, billed every byte passed on as a token (13.0 M output tokens where the provider
 * stated 3.5 M for the whole answer).
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { STREAM_ERRORS } from '../src/metering/metered-stream'
import { startTestGateway, type TestGateway } from './support/gateway'
import { unchunked } from './support/raw-http'
import { openAIEvent, scriptedProviders, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'

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
async function readSteadily(user: string, events: string[], path: '/v1/messages' | '/v1/chat/completions') {
  const { secret } = await gw.userWithKey({ id: user, max_budget: 100 })
  // The big event at once, then the rest as a provider still generating sends it: an event every 20 ms.
  upstream.answer(() => {
    let i = 0
    const enc = new TextEncoder()
    return new Response(
      new ReadableStream<Uint8Array>({
        async pull(c) {
          if (i >= events.length) return c.close()
          if (i > 1) await Bun.sleep(20)
          c.enqueue(enc.encode(events[i++]!))
        },
      }),
      { headers: { 'content-type': 'text/event-stream' } },
    )
  })
  const { hostname, port } = new URL(gw.url)
  const body = JSON.stringify({ model: 'plain:m', max_tokens: 4096, stream: true, messages: [{ role: 'user', content: 'Tell me everything.' }] })
  const request = `POST ${path} HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: Bearer ${secret}\r\nanthropic-version: 2023-06-01\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: ${body.length}\r\n\r\n${body}`
  const reader = Bun.spawn(['node', '-e', READER, port, hostname, request], { stdout: 'pipe' })
  const { gap, text: raw } = JSON.parse(await new Response(reader.stdout).text()) as { gap: number; text: string }
  const text = unchunked(raw)
  await gw.settled()
  const row = gw.query<{ status: string; completion_tokens: number }>('SELECT status, completion_tokens FROM usage WHERE user_id = ?', user)[0]
  return { gap, seen: { unreadError: text.includes(STREAM_ERRORS.unread), done: text.includes(path === '/v1/messages' ? 'event: message_stop' : 'data: [DONE]'), status: row?.status, billedOutput: row?.completion_tokens } }
}

const PIECE = 'abcdefgh '.repeat(912) // ~8 KB of output per event

test('a client reading steadily at ~2 MB/s a stream with a 12 MB event is not cut as unread, translated as native', async () => {
  const { events, outputTokens } = finishedStream(['abcdefgh '.repeat(1_333_336), ...Array.from({ length: 250 }, () => PIECE)])
  const native = await readSteadily('big-event-native-reader', events, '/v1/chat/completions')
  const translated = await readSteadily('big-event-translated-reader', events, '/v1/messages')
  console.log({ native, translated })
  expect({ native: native.seen, translated: translated.seen }).toEqual({
    native: { unreadError: false, done: true, status: 'ok', billedOutput: outputTokens },
    translated: { unreadError: false, done: true, status: 'ok', billedOutput: outputTokens },
  })
}, 90_000)
