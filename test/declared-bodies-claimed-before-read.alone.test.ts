/**
 * Bodies of up to 960 KiB, read under Bun's idle timeout, are counted in flight as README's "body read budget" says,
 * from their first byte: one over 64 KiB is read chunk by chunk, each chunk claimed as it comes, and a smaller one,
 * which Bun reads whole, is claimed once it has come (src/plugins/body-limit.ts). Claimed only once read, 950 kB
 * bodies arriving side by side were all past the check before any was counted: one key opening 300 connections, each
 * sending all but the last byte of one, took the gateway past 400 MB (its share is 84 MiB of memory, ~21 MiB of
 * bytes), and 277 of them were refused 503 `body_read_busy` only after their memory was spent. The key has no budget
 * left: it costs nothing. A body that never comes whole gives back what it claimed.
 */
import { expect, test } from 'bun:test'
import { connect, type Socket } from 'node:net'
import { startTestGateway, type SpawnedGateway } from './support/gateway'
import { startMockProvider } from './support/mock-provider'
import { withBrokeKeyGateway } from './support/broke-key-gateway'
import { PeakRss } from './support/peak-rss'

const CEILING_MB = 200
const CONNECTIONS = 300
const CONTENT_BYTES = 949_000

let gw: SpawnedGateway
let brokeSecret: string
let abandoningSecret: string
let calls: () => number
withBrokeKeyGateway(['declared-bodies-broke', 'declared-bodies-abandoned'], (s) => {
  ;({ gw, calls } = s)
  brokeSecret = s.secrets[0]!
  abandoningSecret = s.secrets[1]!
})

test(`${CONNECTIONS} bodies of 950 kB from one key, arriving side by side, keep the gateway under ${CEILING_MB} MB`, async () => {
  const payload = Buffer.from(JSON.stringify({ model: 'up:gpt-x', max_tokens: 5, messages: [{ role: 'user', content: 'x'.repeat(CONTENT_BYTES) }] }))
  expect(payload.length).toBeLessThanOrEqual(30 * 32 * 1024) // read under Bun's idle timeout (src/plugins/body-limit.ts readByBun)
  const head =
    `POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${brokeSecret}\r\n` +
    `Content-Type: application/json\r\nContent-Length: ${payload.length}\r\n\r\n`
  const peak = new PeakRss(gw.proc.pid)
  const sockets: Socket[] = []
  const statuses: string[] = []
  const answered: Promise<void>[] = []
  for (let i = 0; i < CONNECTIONS; i++) {
    const socket = connect({ host: '127.0.0.1', port: Number(new URL(gw.url).port) })
    let text = ''
    socket.on('data', (d: Buffer) => (text += d.toString('latin1')))
    socket.on('error', () => {})
    answered.push(
      new Promise((resolve) => {
        const done = () => {
          statuses.push(text.split('\r\n')[0] || 'no answer')
          resolve()
        }
        socket.on('close', done)
      }),
    )
    await new Promise<void>((resolve) => socket.on('connect', () => resolve()))
    // All of the body but its last byte: the request is not yet read, so nothing is claimed for it.
    socket.write(head)
    socket.write(payload.subarray(0, payload.length - 1))
    sockets.push(socket)
  }
  await Bun.sleep(2_000)
  for (const socket of sockets) socket.write(payload.subarray(payload.length - 1))
  await Bun.sleep(5_000)
  const { before, peak: peakMb } = peak.stop()
  for (const socket of sockets) socket.destroy()
  await Promise.all(answered)
  const counts: Record<string, number> = {}
  for (const s of statuses) counts[s] = (counts[s] ?? 0) + 1
  console.log(`${CONNECTIONS} x ${(payload.length / 1e3).toFixed(0)} kB from one key: ${JSON.stringify(counts)}; RSS ${before.toFixed(0)} -> ${peakMb.toFixed(0)} MB; provider calls ${calls()}`)
  expect(calls()).toBe(0)
  expect(peakMb).toBeLessThan(CEILING_MB)
}, 120_000)

/** Opens a connection to `url` and sends a chat request of `payload.length` declared bytes, `sent` of them; its status line once closed. */
async function sendDeclared(url: string, secret: string, payload: Buffer, sent: Buffer) {
  const socket = connect({ host: '127.0.0.1', port: Number(new URL(url).port) })
  let text = ''
  socket.on('data', (d: Buffer) => (text += d.toString('latin1')))
  socket.on('error', () => {})
  const answer = new Promise<string>((resolve) => socket.on('close', () => resolve(text.split('\r\n')[0] || 'no answer')))
  await new Promise<void>((resolve) => socket.on('connect', () => resolve()))
  socket.write(
    `POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${secret}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${payload.length}\r\nConnection: close\r\n\r\n`,
  )
  socket.write(sent)
  return { socket, answer }
}

const chatBody = (contentBytes: number, model: string) =>
  Buffer.from(JSON.stringify({ model, max_tokens: 5, messages: [{ role: 'user', content: 'x'.repeat(contentBytes) }] }))

test("bodies whose senders hang up half way give their claims back: the key's next body is read", async () => {
  const payload = chatBody(CONTENT_BYTES, 'up:gpt-x')
  const send = (body: Buffer) => sendDeclared(gw.url, abandoningSecret, payload, body)
  // More than the key's share (~22 such bodies): half of each sent, then the connection dropped.
  const halves = await Promise.all(Array.from({ length: 30 }, () => send(payload.subarray(0, payload.length / 2))))
  await Bun.sleep(1_000)
  for (const { socket } of halves) socket.destroy()
  await Bun.sleep(500)
  const { answer } = await send(payload)
  expect(await answer).toBe('HTTP/1.1 402 Payment Required')
}, 30_000)

test('bodies whose senders go quiet hold what came of them until the idle timeout closes them, then give it back', async () => {
  const mock = startMockProvider()
  // A 2 s idle timeout. A 1 MiB budget: one key's share of the bound for bodies in flight is 1,376,256 bytes of
  // memory, six halves of 100 kB bodies (read chunk by chunk, four times their bytes each).
  const quiet = await startTestGateway({ mock, idleTimeoutSec: 2, config: { body_read_budget_bytes: 1_048_576 } })
  try {
    const { secret } = await quiet.userWithKey({ id: 'declared-bodies-quiet', max_budget: 0.000001 })
    const payload = chatBody(100_000, 'mock:gpt-mock')
    const halves = await Promise.all(Array.from({ length: 8 }, () => sendDeclared(quiet.url, secret, payload, payload.subarray(0, payload.length / 2))))
    await Bun.sleep(300)
    // What came of them is held while they are quiet: the key's next body is refused.
    expect(await (await sendDeclared(quiet.url, secret, payload, payload)).answer).toBe('HTTP/1.1 503 Service Unavailable')
    // The quiet ones are cut within two idle timeouts; their claims come back.
    await Promise.all(halves.map((h) => h.answer))
    expect(await (await sendDeclared(quiet.url, secret, payload, payload)).answer).toBe('HTTP/1.1 402 Payment Required')
  } finally {
    await quiet.stop()
    await mock.stop()
  }
}, 30_000)
