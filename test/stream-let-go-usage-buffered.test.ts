/**
 * A stream whose client takes nothing of it for the idle timeout is let go (`unread`), and paid as one its client cut:
 * what was generated so far, "usage if known" (SPEC §6). Bun's fetch reads a provider's body on whatever the client
 * takes, so a fast provider has often finished by then, its whole answer and its usage in the gateway's memory but
 * not read by the meter (the client's backpressure held the meter's reads back). The provider's body was cancelled
 * with them unread, and the stream billed every byte it had passed on as a token: here 4.3 M where the provider
 * reported 1.23 M. What has arrived is now read first: the provider had finished, so the stream is paid by its usage
 * and ends as a finished one, the rest of the answer queued for the client; its row says `ok`, as when the client
 * paused and read on (upstream-faults.test.ts). (stream-idle-reader-slot.test.ts: a provider that had not finished, paid by what was passed on.)
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { connect, type Socket } from 'node:net'
import { STREAM_ERRORS } from '../src/metering/metered-stream'
import { startTestGateway, type TestGateway } from './support/gateway'
import { unchunked } from './support/raw-http'
import { openAIEvent, scriptedProviders, sseResponse, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'

const PIECE = 'abcdefgh '.repeat(912) // ~8 KB of output per event
const PIECES = 600 // ~5 MB, sent at once: far more than the sockets' buffers take while the client reads nothing
const OUTPUT_TOKENS = (PIECES * PIECE.length) / 4
const base = { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'm' }
const events = [openAIEvent({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] })]
for (let i = 0; i < PIECES; i++) events.push(openAIEvent({ ...base, choices: [{ index: 0, delta: { content: PIECE }, finish_reason: null }] }))
events.push(openAIEvent({ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }))
events.push(openAIEvent({ ...base, choices: [], usage: { prompt_tokens: 5, completion_tokens: OUTPUT_TOKENS, total_tokens: 5 + OUTPUT_TOKENS } }))
events.push(openAIEvent('[DONE]'))

let upstream: ScriptedUpstream
let gw: TestGateway
let key: string
let socket: Socket | undefined

beforeAll(async () => {
  upstream = startScriptedUpstream()
  gw = await startTestGateway({
    config: {
      providers: scriptedProviders(upstream),
      pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2 } },
      upstream_idle_timeout_ms: 1_000,
    },
  })
  key = (await gw.userWithKey({ id: 'stalled-reader', max_budget: 100 })).secret
})
afterAll(async () => {
  socket?.destroy()
  await gw?.stop()
  await upstream?.stop()
})

test('a client let go after its provider finished is paid by the usage in the gateway’s buffer, not by the bytes passed on', async () => {
  upstream.answer(() => sseResponse(events))
  const { hostname, port } = new URL(gw.url)
  const body = JSON.stringify({ model: 'plain:m', stream: true, messages: [{ role: 'user', content: 'Tell me everything.' }] })
  const s = (socket = connect(Number(port), hostname))
  let raw = ''
  s.on('data', (chunk: Buffer) => void (raw += chunk.toString('latin1')))
  s.on('error', () => {})
  const closed = new Promise<void>((resolve) => s.on('close', () => resolve()))
  s.pause() // reads nothing of the stream, but stays connected
  s.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: ${body.length}\r\n\r\n${body}`)

  // Past the idle timeout, the stream is settled while the client still reads nothing.
  const settled = () => gw.query<{ status: string; completion_tokens: number }>("SELECT status, completion_tokens FROM usage WHERE user_id = 'stalled-reader'")
  for (let i = 0; i < 100 && settled().length === 0; i++) {
    await Bun.sleep(50)
    await gw.settled()
  }
  const [row] = settled()
  // The client reads again: the answer it is paid for reaches it whole.
  s.resume()
  await closed
  const text = unchunked(raw)
  expect({ status: row?.status, billedOutput: row?.completion_tokens, done: text.includes('data: [DONE]'), unreadError: text.includes(STREAM_ERRORS.unread) }).toEqual({
    status: 'ok',
    // Before: every byte passed on, as a token (4.3 M).
    billedOutput: OUTPUT_TOKENS,
    done: true,
    unreadError: false,
  })
}, 30_000)
