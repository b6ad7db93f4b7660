/**
 * The stop's grace waits for an answer still being written: a JSON answer is settled (hold closed, upstream slot
 * freed) and handed to Bun before its bytes are out, and a large one (a batch's embeddings, a long completion) to
 * a client on a slow link is still going out when SIGTERM comes. Before, the grace ended at once ("nothing under
 * way") and about a second later `server.stop(true)` closed the connection mid-answer: 13.7 of 25.2 MB delivered,
 * charged `ok`. README ("A stop cuts as our timeout does"): "an answer still written ... is written to its end";
 * the grace here is 8 s and the client needs about 3 s to read it.
 */
import { afterEach, expect, test } from 'bun:test'
import { connect } from 'node:net'
import { startMockProvider } from './support/mock-provider'
import { spawnGateway } from './support/gateway'

const cleanup: Array<() => unknown> = []
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c()
})

test('a JSON answer still being written to a slow client when SIGTERM comes is written to its end within the grace', async () => {
  // One "word" of 24 MB: one output token, so the request is cheap, but its answer is large.
  const mock = startMockProvider({ completionText: 'x'.repeat(24 * 1024 * 1024) })
  cleanup.push(() => mock.stop())
  const gw = await spawnGateway({ mock, config: { pricing: { 'mock:gpt-mock': { input_per_million: 1, output_per_million: 1 } } }, env: { TOLLGATE_SHUTDOWN_GRACE_MS: '8000' } })
  cleanup.push(() => gw.stop())
  const { secret } = await gw.userWithKey({ id: 'team', max_budget: 100 })

  const sock = connect({ host: '127.0.0.1', port: Number(new URL(gw.url).port) })
  cleanup.push(() => sock.destroy())
  const chunks: Buffer[] = []
  let closed = false
  sock.on('data', (c: Buffer) => chunks.push(c))
  sock.on('close', () => (closed = true))
  sock.on('error', () => {})
  await new Promise((resolve) => sock.on('connect', resolve))
  const body = JSON.stringify({ model: 'mock:gpt-mock', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] })
  sock.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer ${secret}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`)
  // The answer's head is here: the request is settled and its answer is being written.
  while (!Buffer.concat(chunks).includes('\r\n\r\n')) await Bun.sleep(5)
  // A slow link: the client reads nothing for 3 s, then reads on.
  sock.pause()
  gw.proc.kill('SIGTERM')
  await Bun.sleep(3000)
  sock.resume()
  const until = Date.now() + 15_000
  while (!closed && Date.now() < until) await Bun.sleep(20)

  const raw = Buffer.concat(chunks)
  const headEnd = raw.indexOf('\r\n\r\n')
  const head = raw.subarray(0, headEnd).toString('latin1')
  const declared = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? -1)
  const received = raw.length - headEnd - 4
  await gw.proc.exited
  const [row] = gw.query('SELECT status FROM usage')
  expect(head.split('\r\n')[0]).toBe('HTTP/1.1 200 OK')
  expect(row?.status).toBe('ok') // charged for it
  expect({ received, whole: received === declared }).toEqual({ received: declared, whole: true })
}, 60_000)
