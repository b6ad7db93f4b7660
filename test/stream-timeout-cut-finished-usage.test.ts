/**
 * A client let go for taking nothing has what arrived of its provider's body read first, and when the provider had
 * finished, the stream is paid by its usage (SPEC §6: "usage if known"), row `ok`, the rest of the answer queued for
 * it (stream-let-go-usage-buffered.test.ts). The same stream cut instead by the whole call's timeout
 * (TOLLGATE_UPSTREAM_TIMEOUT_MS below the idle timeout: an operator's 60 s call limit under the 120 s idle default,
 * or a steady slow reader of a long answer) is read the same way before the cut: that usage is in the gateway's
 * memory. Before, the timeout cancelled the body unread, and the stream was billed every byte it had passed on as a
 * token (about 4× the usage here), row `error`, the client told the provider failed though it had answered whole.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { connect, type Socket } from 'node:net'
import { STREAM_ERRORS } from '../src/metering/metered-stream'
import { startTestGateway, type TestGateway } from './support/gateway'
import { unchunked } from './support/raw-http'
import { openAIEvent, scriptedProviders, sseResponse, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'

const PIECE = 'abcdefgh '.repeat(912) // ~8 KB of output per event
const PIECES = 600 // ~5 MB, sent at once: more than the sockets' buffers take while the client reads nothing
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
      // The whole call's limit below the idle timeout (its default, 120 s): the timeout, not the let-go, ends it.
      upstream_timeout_ms: 1_500,
    },
  })
  key = (await gw.userWithKey({ id: 'timed-out-reader', max_budget: 100 })).secret
})
afterAll(async () => {
  socket?.destroy()
  await gw?.stop()
  await upstream?.stop()
})

test('a stream cut by the call timeout after its provider finished is paid by the usage in the gateway’s buffer', async () => {
  upstream.answer(() => sseResponse(events))
  const { hostname, port } = new URL(gw.url)
  const body = JSON.stringify({ model: 'plain:m', stream: true, messages: [{ role: 'user', content: 'Tell me everything.' }] })
  const s = (socket = connect(Number(port), hostname))
  let raw = ''
  s.on('data', (chunk: Buffer) => void (raw += chunk.toString('latin1')))
  s.on('error', () => {})
  const closed = new Promise<void>((resolve) => s.on('close', () => resolve()))
  s.pause() // reads nothing of the stream for now, but stays connected
  s.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: ${body.length}\r\n\r\n${body}`)

  const settled = () => gw.query<{ status: string; completion_tokens: number }>("SELECT status, completion_tokens FROM usage WHERE user_id = 'timed-out-reader'")
  for (let i = 0; i < 100 && settled().length === 0; i++) {
    await Bun.sleep(50)
    await gw.settled()
  }
  const [row] = settled()
  s.resume()
  await closed
  const text = unchunked(raw)
  expect({ status: row?.status, billedOutput: row?.completion_tokens, done: text.includes('data: [DONE]'), failedError: text.includes(STREAM_ERRORS.failed) }).toEqual({
    status: 'ok',
    billedOutput: OUTPUT_TOKENS,
    done: true,
    failedError: false,
  })
}, 30_000)
