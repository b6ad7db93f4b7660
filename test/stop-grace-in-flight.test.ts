/**
 * The shutdown grace lasts while anything is in flight, not only while a hold is open. "On SIGTERM the
 * gateway takes no new request and lets those in flight finish for TOLLGATE_SHUTDOWN_GRACE_MS" (README, "A
 * stop cuts as our timeout does"). A speech call's hold is settled as soon as the provider answers, while
 * its audio is still streamed through (src/routes/audio.ts): the stop waits for that answer to be written
 * too, so the audio the client has paid for is let finish within the grace, as a chat stream is, rather
 * than cut within milliseconds of SIGTERM.
 */
import { afterEach, expect, test } from 'bun:test'
import { connect } from 'node:net'
import { startMockProvider } from './support/mock-provider'
import { scriptedProviders, startScriptedUpstream } from './support/scripted-upstream'
import { spawnGateway } from './support/gateway'

const cleanup: Array<() => unknown> = []
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c()
})

const CHUNKS = 8
const CHUNK_MS = 250 // 2 s of audio in all, well within the grace

test('a speech call streaming its audio when SIGTERM comes is let finish within the grace, as a chat stream is', async () => {
  const upstream = startScriptedUpstream()
  cleanup.push(() => upstream.stop())
  const enc = new TextEncoder()
  upstream.answer(() => {
    let i = 0
    return new Response(
      new ReadableStream<Uint8Array>({
        async pull(c) {
          if (i > 0) await Bun.sleep(CHUNK_MS)
          if (i === CHUNKS) return c.close()
          c.enqueue(enc.encode(`audio-chunk-${i++};`))
        },
      }),
      { headers: { 'content-type': 'audio/mpeg' } },
    )
  })
  const gw = await spawnGateway({
    config: { providers: scriptedProviders(upstream), pricing: { 'plain:tts': { input_per_million: 0, output_per_million: 0, per_request: 0.01 } } },
    env: { TOLLGATE_SHUTDOWN_GRACE_MS: '8000' },
  })
  cleanup.push(() => gw.stop())
  const { secret } = await gw.userWithKey({ id: 'tts', max_budget: 10 })
  const res = await fetch(`${gw.url}/v1/audio/speech`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'plain:tts', input: 'A long text to read aloud.', voice: 'alloy' }),
  })
  expect(res.status).toBe(200)
  const reader = res.body!.getReader()
  let audio = new TextDecoder().decode((await reader.read()).value)

  gw.proc.kill('SIGTERM')
  const sentAt = Date.now()
  let cut = false
  try {
    for (;;) {
      const { value, done } = await reader.read()
      if (done) break
      audio += new TextDecoder().decode(value)
    }
  } catch {
    cut = true
  }
  const readForMs = Date.now() - sentAt
  await gw.proc.exited
  const [row] = gw.query('SELECT status, cost FROM usage')
  expect({ cut, chunksReceived: audio.split(';').filter(Boolean).length, charged: row?.cost, exit: gw.proc.exitCode }).toEqual({
    cut: false,
    chunksReceived: CHUNKS,
    charged: 10_000, // the per-request price, charged whether the audio is cut or not
    exit: 0,
  })
  expect(readForMs).toBeGreaterThan((CHUNKS - 2) * CHUNK_MS)
}, 60_000)

/**
 * The other side of the same wait: a request whose body is still arriving when SIGTERM comes (an upload of a
 * few seconds: an image, a PDF, a long context on a slow link) has no hold yet. It is served once its body is
 * all there, within the grace, rather than its connection closed about a second after SIGTERM with no answer
 * at all (not even the 503 gateway_stopping a retry could act on).
 */
test('a request whose body is still arriving when SIGTERM comes is served within the grace, not dropped a second later', async () => {
  const mock = startMockProvider()
  cleanup.push(() => mock.stop())
  const gw = await spawnGateway({ mock, config: { pricing: { 'mock:gpt-mock': { input_per_million: 1000, output_per_million: 2000 } } }, env: { TOLLGATE_SHUTDOWN_GRACE_MS: '8000' } })
  cleanup.push(() => gw.stop())
  const { secret } = await gw.userWithKey({ id: 'team', max_budget: 100 })
  const sock = connect({ host: '127.0.0.1', port: Number(new URL(gw.url).port) })
  cleanup.push(() => sock.destroy())
  let answer = ''
  sock.on('data', (c: Buffer) => (answer += c.toString('latin1')))
  sock.on('error', () => {})
  await new Promise((resolve) => sock.on('connect', resolve))
  const body = JSON.stringify({ model: 'mock:gpt-mock', max_tokens: 100, messages: [{ role: 'user', content: 'hi '.repeat(2000) }] })
  sock.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer ${secret}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`)
  // The body in 4 parts, 400 ms apart: 1.2 s after SIGTERM it is all there, well within the 8 s grace.
  const parts = 4
  const size = Math.ceil(body.length / parts)
  sock.write(body.slice(0, size))
  await Bun.sleep(200)
  gw.proc.kill('SIGTERM')
  for (let i = 1; i < parts; i++) {
    await Bun.sleep(400)
    if (!sock.destroyed) sock.write(body.slice(i * size, (i + 1) * size))
  }
  await gw.proc.exited
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0)
  expect({ status, providerCalls: mock.calls.length }).toEqual({ status: 200, providerCalls: 1 })
}, 60_000)
