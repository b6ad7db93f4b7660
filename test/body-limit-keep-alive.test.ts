/**
 * A body over the limit is answered 413 at once (a declared length before any of it is read, a chunked one as soon
 * as the count passes the limit), and its connection is kept, not closed with the answer: Bun frames the rest of the
 * body, declared or chunked, and skips it, so the next request on a keep-alive connection is read cleanly, never the
 * refused body's bytes taken for a request. A client that streams on and on into a refused body is cut by the idle
 * timeout (body bytes are no activity to Bun). Closing with the 413 instead (`Connection: close`) loses the answer for
 * a client still writing: checked, Node's http module got EPIPE and curl's streamed upload (`-T -`) only its
 * `100 Continue`, where both get the 413 now (README, "Requests and secrets").
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { connect } from 'node:net'
import { startTestGateway, type TestGateway } from './support/gateway'

const LIMIT = 1024
/**
 * Bun counts idle timeouts in ticks of 4 s (uSockets' LIBUS_TIMEOUT_GRANULARITY), from whenever the last one was: 1 s is
 * one tick, which may come at once, and cut a connection before its 413 is written (a CI run: no answer, closed at 93
 * ms). 5 s is two ticks, 4–8 s.
 */
const IDLE_SEC = 5
/** The listener's idle timeout as shipped (30 s). */
let gw: TestGateway
/** A short idle timeout (IDLE_SEC). */
let quick: TestGateway
let secret: string

beforeAll(async () => {
  ;[gw, quick] = await Promise.all([
    startTestGateway({ config: { max_body_bytes: LIMIT } }),
    startTestGateway({ idleTimeoutSec: IDLE_SEC, config: { max_body_bytes: LIMIT } }),
  ])
  secret = (await gw.userWithKey({ id: 'big-bodies', max_budget: 10 })).secret
})
afterAll(() => Promise.all([gw.stop(), quick.stop()]))

interface Exchange {
  /** Status lines of the answers, in order. */
  statuses: string[]
  text: string
  /** Ms from the first write to the server closing the connection, null if it stayed open. */
  closedMs: number | null
}

/** Writes `pieces` one every `everyMs` (the first at once), then waits `waitMs` for the server to close. */
function exchange(to: TestGateway, pieces: string[], everyMs: number, waitMs: number): Promise<Exchange> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port: Number(new URL(to.url).port) })
    const t0 = performance.now()
    let text = ''
    let sent = 0
    let pacer: Timer | undefined
    const done = (closedMs: number | null) => {
      clearInterval(pacer)
      clearTimeout(giveUp)
      socket.destroy()
      resolve({ statuses: [...text.matchAll(/HTTP\/1\.1 \d{3}/g)].map((m) => m[0]), text, closedMs })
    }
    const giveUp = setTimeout(() => done(null), waitMs)
    socket.on('connect', () => {
      socket.write(pieces[sent++]!)
      pacer = setInterval(() => (sent < pieces.length ? socket.write(pieces[sent++]!) : clearInterval(pacer)), everyMs)
    })
    socket.on('data', (d: Buffer) => (text += d.toString('latin1')))
    socket.on('error', () => {})
    socket.on('close', () => done(Math.round(performance.now() - t0)))
  })
}

const head = (framing: string) =>
  `POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${secret}\r\nContent-Type: application/json\r\n${framing}\r\n\r\n`
const chunk = (bytes: number) => `${bytes.toString(16)}\r\n${'x'.repeat(bytes)}\r\n`
const healthCheck = 'GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n'

test('after a chunked body over the limit, the next request on the keep-alive connection is answered, not the body read as one', async () => {
  const { statuses, text } = await exchange(gw, [head('Transfer-Encoding: chunked'), chunk(800), chunk(800), chunk(800), '0\r\n\r\n', healthCheck], 50, 1_000)
  expect(statuses).toEqual(['HTTP/1.1 413', 'HTTP/1.1 200'])
  expect(text).toContain('"code":"body_too_large"')
  expect(text.endsWith('{"status":"ok"}')).toBe(true)
})

test('after a declared body over the limit, sent all the same, the next request on the connection is answered', async () => {
  const { statuses, text } = await exchange(gw, [head('Content-Length: 2400'), 'x'.repeat(1200), 'x'.repeat(1200), healthCheck], 50, 1_000)
  expect(statuses).toEqual(['HTTP/1.1 413', 'HTTP/1.1 200'])
  expect(text.endsWith('{"status":"ok"}')).toBe(true)
})

test('a client that streams on into a refused body is answered 413 at once and cut by the idle timeout', async () => {
  // 16 KB a second, chunked, for 20 s: never a pause as long as the idle timeout.
  const quickKey = (await quick.userWithKey({ id: 'streams-on', max_budget: 10 })).secret
  const pieces = [head('Transfer-Encoding: chunked').replace(secret, quickKey), ...Array.from({ length: 400 }, () => chunk(800))]
  const { statuses, closedMs } = await exchange(quick, pieces, 50, 15_000)
  expect(statuses).toEqual(['HTTP/1.1 413'])
  // Bun looks at idle connections every few seconds: cut well before the client is done.
  expect(closedMs).not.toBeNull()
  expect(closedMs!).toBeLessThan(IDLE_SEC * 1000 + 8_000)
}, 20_000)
