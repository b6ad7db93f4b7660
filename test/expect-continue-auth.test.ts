/**
 * A client that sends `Expect: 100-continue` waits before sending its body. A request the gateway refuses on its
 * headers (no key, an unknown key, a key on the admin API) is answered at once, not after the idle timeout: the key
 * is checked when the request arrives (auth's onRequest), before any body is read. Bun sends its `100 Continue` as
 * soon as the headers are in, before the gateway sees the request (no handler can hold it back); the refusal follows
 * within milliseconds, and the client that sent its body after the 100 has it skipped.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { connect } from 'node:net'
import { startTestGateway, type TestGateway } from './support/gateway'

let gw: TestGateway
let secret: string

beforeAll(async () => {
  gw = await startTestGateway({ idleTimeoutSec: 2 })
  secret = (await gw.userWithKey({ id: 'expects', max_budget: 10 })).secret
})
afterAll(() => gw.stop())

/** Sends headers only and waits for a final (non-1xx) status line; the ms it took, or null after `waitMs`. */
function finalStatus(path: string, headers: string, waitMs = 3_000): Promise<{ status: string | null; ms: number }> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port: Number(new URL(gw.url).port) })
    const t0 = performance.now()
    let text = ''
    const done = (status: string | null) => {
      clearTimeout(giveUp)
      socket.destroy()
      resolve({ status, ms: Math.round(performance.now() - t0) })
    }
    const giveUp = setTimeout(() => done(null), waitMs)
    socket.on('connect', () =>
      socket.write(`POST ${path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n${headers}Content-Length: 100\r\nExpect: 100-continue\r\n\r\n`),
    )
    socket.on('data', (d: Buffer) => {
      text += d.toString('latin1')
      const final = /HTTP\/1\.1 ([2-5]\d\d)/.exec(text)
      if (final) done(final[1]!)
    })
    socket.on('error', () => {})
    socket.on('close', () => done(null))
  })
}

test('a refusal on the headers is answered at once to a client waiting to send its body', async () => {
  const cases: Array<[string, string, string]> = [
    ['/v1/chat/completions', '', '401'],
    ['/v1/chat/completions', 'Authorization: Bearer sk-not-a-key\r\n', '401'],
    ['/v1/messages', 'x-api-key: not-a-key\r\n', '401'],
    ['/v1/audio/transcriptions', '', '401'],
    ['/v1/users', `Authorization: Bearer ${secret}\r\n`, '403'],
  ]
  const answers = await Promise.all(cases.map(([path, headers]) => finalStatus(path, headers)))
  expect(answers.map((a) => a.status)).toEqual(cases.map(([, , status]) => status))
  for (const { ms } of answers) expect(ms).toBeLessThan(1_000)
})
