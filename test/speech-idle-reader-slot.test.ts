/**
 * A body passed through from the provider is ended when its client takes nothing of it for the upstream idle
 * timeout (relayBody's `clientIdleMs`): such a client would otherwise keep its slot for the whole upstream timeout
 * (600 s). Speech's audio keeps a *provider-call* slot until its body ends (audio.ts `streamedThrough`), and was once
 * left without `clientIdleMs`: a key holder who sent speech calls (their `per_request` price: $0 when unpriced) and
 * read nothing of the audio kept every provider-call slot — every user's paid calls got 503 `upstream_busy` for
 * the whole upstream timeout, renewable at will.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { connect, type Socket } from 'node:net'
import type { TestGateway } from './support/gateway'
import { jsonResponse, withScriptedGateway, type ScriptedUpstream } from './support/scripted-upstream'

const SLOTS = 2
// More than the loopback sockets and Bun's own buffers take in (~4 MB): the relay waits on the client.
const AUDIO = new Uint8Array(16 * 1024 * 1024).fill(0x55)
let upstream: ScriptedUpstream
let gw: TestGateway
let reader: string
let other: string
const sockets: Socket[] = []

// Before the gateway stops (hooks run in the order they are declared).
afterAll(() => {
  for (const s of sockets) s.destroy()
})
withScriptedGateway(
  {
    pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2 } },
    max_upstream_concurrency: SLOTS,
    upstream_idle_timeout_ms: 1_000,
  },
  (s) => ({ upstream, gw } = s),
  { idleTimeoutSec: 1 },
)
beforeAll(async () => {
  reader = (await gw.userWithKey({ id: 'speech-reader', max_budget: 10 })).secret
  other = (await gw.userWithKey({ id: 'someone-else', max_budget: 10 })).secret
})

test("speech calls whose clients read nothing do not refuse every other user's paid calls past the idle timeout", async () => {
  upstream.answer((call) =>
    call.path.endsWith('/audio/speech')
      ? new Response(AUDIO, { headers: { 'content-type': 'audio/mpeg' } })
      : jsonResponse({ id: 'c1', object: 'chat.completion', model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }], usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 } }),
  )
  const { hostname, port } = new URL(gw.url)
  const body = JSON.stringify({ model: 'plain:tts', input: 'hello', voice: 'alloy' })
  for (let i = 0; i < SLOTS; i++) {
    const s = connect(Number(port), hostname)
    s.on('error', () => {})
    s.pause() // never reads a byte of the audio, but stays connected
    s.write(`POST /v1/audio/speech HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: Bearer ${reader}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`)
    sockets.push(s)
  }
  for (let i = 0; i < 100 && upstream.calls.length < SLOTS; i++) await Bun.sleep(20)
  expect(upstream.calls.length).toBe(SLOTS)

  // Three times both idle timeouts (Bun's listener and the upstream idle timeout), far under the 600 s call timeout.
  await Bun.sleep(3_000)
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${other}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'plain:m', messages: [{ role: 'user', content: 'hi' }], max_tokens: 16 }),
  })
  const text = await res.text()
  expect({ status: res.status, code: res.status === 200 ? null : JSON.parse(text).error?.code }).toEqual({ status: 200, code: null })
}, 30_000)
