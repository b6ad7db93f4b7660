/**
 * A body passed through from the provider is ended when its client takes nothing of it for the upstream idle
 * timeout (relayBody's `clientIdleMs`): such a client would otherwise keep its slot for the whole upstream timeout
 * (600 s). Speech's audio keeps a *provider-call* slot until its body ends (audio.ts `streamedThrough`), and was once
 * left without `clientIdleMs`: a key holder who sent speech calls (their `per_request` price: $0 when unpriced) and
 * read nothing of the audio kept every provider-call slot — every user's paid calls got 503 `upstream_busy` for
 * the whole upstream timeout, renewable at will.
 */
import { expect, test } from 'bun:test'
import { connect } from 'node:net'
import { withSlotsGateway } from './support/idle-timeout-gateway'
import { jsonResponse } from './support/scripted-upstream'

const SLOTS = 2
// More than the loopback sockets and Bun's own buffers take in (~4 MB): the relay waits on the client.
const AUDIO = new Uint8Array(16 * 1024 * 1024).fill(0x55)
const slots = withSlotsGateway('speech-reader', SLOTS)

test("speech calls whose clients read nothing do not refuse every other user's paid calls past the idle timeout", async () => {
  const { upstream, gw, reader, other, sockets } = slots
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
