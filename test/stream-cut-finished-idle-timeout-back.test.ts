/**
 * A stream whose client paused, and whose provider had finished meanwhile, ends as a finished one when the gateway
 * cuts it while no read waits (the client let go past the upstream idle timeout, or the whole call's timeout): it is
 * settled, and the rest of its answer, megabytes, queued for the client. The connection's idle timeout, switched off
 * while the call ran, comes back on then: a client that never reads again would otherwise keep the connection, and
 * the answer buffered for it, for as long as it likes.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { connect, type Socket } from 'node:net'
import { startTestGateway, type TestGateway } from './support/gateway'
import { unchunked } from './support/raw-http'
import { openAIEvent, scriptedProviders, sseResponse, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'

const IDLE_SEC = 2
/** Long enough for Bun to have closed a connection idle past 2 s (it checks every few seconds). */
const CLOSED_WITHIN_MS = 9_000
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
const gateways: Record<'letGo' | 'timeout', TestGateway> = {} as never
const sockets: Socket[] = []

beforeAll(async () => {
  upstream = startScriptedUpstream()
  upstream.answer(() => sseResponse(events))
  const config = { providers: scriptedProviders(upstream), pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2 } } }
  gateways.letGo = await startTestGateway({ idleTimeoutSec: IDLE_SEC, config: { ...config, upstream_idle_timeout_ms: 1_000 } })
  gateways.timeout = await startTestGateway({ idleTimeoutSec: IDLE_SEC, config: { ...config, upstream_timeout_ms: 1_500 } })
})
afterAll(async () => {
  for (const s of sockets) s.destroy()
  for (const gw of Object.values(gateways)) await gw.stop()
  await upstream?.stop()
})

/** A stream asked for on a keep-alive connection whose client then reads nothing for a long while. */
async function pausedClient(gw: TestGateway) {
  const { secret } = await gw.userWithKey({ id: 'gone-quiet', max_budget: 100 })
  const { hostname, port } = new URL(gw.url)
  const body = JSON.stringify({ model: 'plain:m', stream: true, messages: [{ role: 'user', content: 'Tell me everything.' }] })
  const s = connect(Number(port), hostname)
  sockets.push(s)
  let raw = ''
  s.on('data', (chunk: Buffer) => void (raw += chunk.toString('latin1')))
  s.on('error', () => {})
  const closed = new Promise<true>((resolve) => s.on('close', () => resolve(true)))
  s.pause()
  s.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: Bearer ${secret}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`)
  const settled = () => gw.query<{ status: string }>("SELECT status FROM usage WHERE user_id = 'gone-quiet'")
  for (let i = 0; i < 100 && settled().length === 0; i++) {
    await Bun.sleep(50)
    await gw.settled()
  }
  const status = settled()[0]?.status
  await Bun.sleep(CLOSED_WITHIN_MS)
  // Reading again, the client finds the connection closed by the gateway, the answer short of its end.
  s.resume()
  const wasClosed = await Promise.race([closed, Bun.sleep(3_000).then(() => false)])
  return { status, closed: wasClosed, whole: unchunked(raw).includes('data: [DONE]') }
}

test('a paused client whose finished answer is queued for it gets the idle timeout back: its connection is closed', async () => {
  const [letGo, timedOut] = await Promise.all([pausedClient(gateways.letGo), pausedClient(gateways.timeout)])
  const expected = { status: 'ok', closed: true, whole: false }
  expect({ letGo, timedOut }).toEqual({ letGo: expected, timedOut: expected })
}, 30_000)
