/**
 * The connection's idle timeout is for a connection that makes no progress (README: "The server closes a connection
 * idle for 30 s"). A request body that keeps arriving is progress: a 25 MB audio file on a slow uplink, or any large
 * body, takes longer than the idle timeout to upload. Bun does not count received body bytes as activity, so such an
 * upload was cut at the idle timeout, mid-body, with no answer at all (the SDK saw a reset and retried, into the same
 * cut). A large or chunked body is now read with Bun's timeout off and the gateway's own in its place, restarted by
 * each chunk: an upload that keeps going is read whole, one that stops (or crawls, on average, below a floor far
 * under any real uplink) is answered 408 and closed, and the connection has its idle timeout back once it is in.
 *
 * Each case is a raw connection. The gateway's idle timeout is 2 s (Bun checks it every 4 s or so); a slow upload
 * sends 10 KiB every 400 ms, 160 KiB in 6.4 s.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { connect } from 'node:net'
import { startTestGateway, type TestGateway } from './support/gateway'
import { startMockProvider, type MockProvider } from './support/mock-provider'

const IDLE_SEC = 2
const PIECE_BYTES = 10 * 1024
const EVERY_MS = 400
/** Long enough for Bun to have closed a connection idle past 2 s. */
const CLOSED_WITHIN_MS = 9_000

let mock: MockProvider
let gw: TestGateway
let secret: string

beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock, idleTimeoutSec: IDLE_SEC })
  secret = (await gw.userWithKey({ id: 'slow-uploader', max_budget: 10 })).secret
})

afterAll(async () => {
  await gw.stop()
  await mock.stop()
})

interface Exchange {
  /** Everything the server sent. */
  text: string
  /** How many of the pieces were written before the server closed the connection. */
  sent: number
  /** Ms from the request's start to the first byte of the answer, and to the server closing the connection (null: still open). */
  answeredMs: number | null
  closedMs: number | null
}

/** Writes `head` at once, then one piece every EVERY_MS; waits for the server to close, CLOSED_WITHIN_MS after the last piece at most. */
function sendPaced(head: string, pieces: Buffer[]): Promise<Exchange> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port: Number(new URL(gw.url).port) })
    const t0 = performance.now()
    const exchange: Exchange = { text: '', sent: 0, answeredMs: null, closedMs: null }
    let pacer: ReturnType<typeof setInterval> | undefined
    let giveUp: ReturnType<typeof setTimeout> | undefined
    const done = () => {
      clearInterval(pacer)
      clearTimeout(giveUp)
      resolve(exchange)
    }
    const waitForClose = () =>
      (giveUp = setTimeout(() => {
        socket.removeAllListeners('close')
        socket.destroy()
        done()
      }, CLOSED_WITHIN_MS))
    socket.on('connect', () => {
      socket.write(head)
      if (pieces.length === 0) return waitForClose()
      pacer = setInterval(() => {
        socket.write(pieces[exchange.sent++]!)
        if (exchange.sent === pieces.length) clearInterval(pacer), waitForClose()
      }, EVERY_MS)
    })
    socket.on('data', (d) => {
      exchange.answeredMs ??= Math.round(performance.now() - t0)
      exchange.text += d.toString('latin1')
    })
    socket.on('error', () => {})
    socket.on('close', () => {
      exchange.closedMs = Math.round(performance.now() - t0)
      done()
    })
  })
}

const piecesOf = (body: Buffer) => Array.from({ length: Math.ceil(body.length / PIECE_BYTES) }, (_, i) => body.subarray(i * PIECE_BYTES, (i + 1) * PIECE_BYTES))
/** The same pieces, each one chunk of a chunked body, then its last chunk. */
const chunkedPieces = (body: Buffer) => [
  ...piecesOf(body).map((piece) => Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')])),
  Buffer.from('0\r\n\r\n'),
]

const BOUNDARY = 'slowUploadBoundary'
const transcriptionForm = Buffer.concat([
  Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="model"\r\n\r\nmock:whisper\r\n`),
  Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\nContent-Type: audio/wav\r\n\r\n`),
  Buffer.alloc(160 * 1024, 7),
  Buffer.from(`\r\n--${BOUNDARY}--\r\n`),
])
/** A chat request of 160 KiB, most of it one long message. */
const chatBody = (fields: Record<string, unknown> = { model: 'mock:gpt-mock' }) =>
  Buffer.from(JSON.stringify({ ...fields, max_tokens: 5, messages: [{ role: 'user', content: 'x'.repeat(160 * 1024) }] }))

const head = (path: string, contentType: string, framing: string, connection = 'close') =>
  `POST ${path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${secret}\r\nContent-Type: ${contentType}\r\n${framing}\r\nConnection: ${connection}\r\n\r\n`
const lengthOf = (body: Buffer) => `Content-Length: ${body.length}`
const CHUNKED = 'Transfer-Encoding: chunked'
const FORM = `multipart/form-data; boundary=${BOUNDARY}`

const statusOf = (exchange: Exchange) => exchange.text.slice(0, 12)
const providerCalls = (path: string) => mock.calls.filter((c) => c.path === path).length

test('an upload whose bytes keep arriving is not cut by the idle timeout: a transcription with a Content-Length, a chat body chunked', async () => {
  const before = { transcriptions: providerCalls('/v1/audio/transcriptions'), chat: providerCalls('/v1/chat/completions') }
  const form = piecesOf(transcriptionForm)
  const chat = chunkedPieces(chatBody())
  const [transcription, chunkedChat] = await Promise.all([
    sendPaced(head('/v1/audio/transcriptions', FORM, lengthOf(transcriptionForm)), form),
    sendPaced(head('/v1/chat/completions', 'application/json', CHUNKED), chat),
  ])
  expect({ sent: transcription.sent, status: statusOf(transcription) }).toEqual({ sent: form.length, status: 'HTTP/1.1 200' })
  expect({ sent: chunkedChat.sent, status: statusOf(chunkedChat) }).toEqual({ sent: chat.length, status: 'HTTP/1.1 200' })
  expect(providerCalls('/v1/audio/transcriptions') - before.transcriptions).toBe(1)
  expect(providerCalls('/v1/chat/completions') - before.chat).toBe(1)
}, 30_000)

test('a client that sends one byte of its body then nothing is answered 408 and closed after the idle timeout', async () => {
  const declared = chatBody()
  const trickles = await Promise.all([
    sendPaced(head('/v1/chat/completions', 'application/json', lengthOf(declared)) + '{', []),
    sendPaced(head('/v1/chat/completions', 'application/json', CHUNKED) + '1\r\n{\r\n', []),
    sendPaced(head('/v1/audio/transcriptions', FORM, lengthOf(transcriptionForm)) + '-', []),
  ])
  for (const trickle of trickles) {
    expect(statusOf(trickle)).toBe('HTTP/1.1 408')
    expect(trickle.text).toContain('"code":"request_timeout"')
    expect(trickle.answeredMs).toBeGreaterThanOrEqual(IDLE_SEC * 1000 - 50)
    expect(trickle.answeredMs).toBeLessThan(IDLE_SEC * 1000 + 1_500)
    // Closed with the answer: what is left of the body will never be read.
    expect(trickle.closedMs! - trickle.answeredMs!).toBeLessThan(500)
  }
}, 30_000)

test('a body that keeps arriving, but slower than the pace floor on average, is answered 408 once it falls behind', async () => {
  const body = chatBody()
  // 200 bytes every 400 ms: 500 bytes a second, never silent for the idle timeout.
  const crawl = Array.from({ length: 40 }, (_, i) => body.subarray(i * 200, (i + 1) * 200))
  const slow = await sendPaced(head('/v1/chat/completions', 'application/json', lengthOf(body)), crawl)
  expect(statusOf(slow)).toBe('HTTP/1.1 408')
  expect(slow.text).toContain('too slowly')
  // Behind as soon as the first idle timeout's worth of time has gone by: (t - 2 s) * 8 KiB/s is more than was sent.
  expect(slow.answeredMs).toBeLessThan(IDLE_SEC * 1000 + 1_500)
  expect(slow.sent).toBeLessThan(crawl.length)
  expect(slow.closedMs! - slow.answeredMs!).toBeLessThan(500)
}, 30_000)

test('a body sent fast at first and then a byte at a time is answered 408 once its recent pace falls behind, not its average since the start', async () => {
  const body = chatBody()
  // 160 KiB at once (20 s of the pace floor "ahead" on average), then its last 40 bytes one every 400 ms.
  const trickle = Array.from({ length: 40 }, (_, i) => body.subarray(body.length - 40 + i, body.length - 39 + i))
  const burst = body.subarray(0, body.length - 40).toString('latin1')
  const slow = await sendPaced(head('/v1/chat/completions', 'application/json', lengthOf(body)) + burst, trickle)
  expect(statusOf(slow)).toBe('HTTP/1.1 408')
  expect(slow.text).toContain('too slowly')
  // The window the pace is judged over spans one to three idle timeouts, the first a grace.
  expect(slow.answeredMs).toBeLessThan(3 * IDLE_SEC * 1000 + 1_500)
  expect(slow.sent).toBeLessThan(trickle.length)
}, 30_000)

test('a keep-alive connection that sent a slow body is closed when idle after its answer, on a route that never switches the timeout off', async () => {
  // Refused by validation (no model) after the body is read, before any inference route switches the timeout off itself.
  const body = chatBody({})
  const pieces = piecesOf(body)
  const refused = await sendPaced(head('/v1/chat/completions', 'application/json', lengthOf(body), 'keep-alive'), pieces)
  expect({ sent: refused.sent, status: statusOf(refused) }).toEqual({ sent: pieces.length, status: 'HTTP/1.1 400' })
  expect(refused.closedMs).not.toBeNull()
}, 30_000)
