/**
 * Mutation guard. README / src/server.ts: on SIGTERM the gateway "takes no new request" (the listener stopped first);
 * only the requests in flight finish within the grace. A client's idle keep-alive connection (an SDK's pool, a
 * load balancer's upstream pool) is not a request in flight: a request sent on it during the grace must not be
 * taken either (nor reach a provider).
 */
import { afterEach, expect, test } from 'bun:test'
import { connect } from 'node:net'
import { startMockProvider } from './support/mock-provider'
import { spawnGateway } from './support/gateway'
import { message } from './support/raw-http'

const toStop: Array<{ stop(): unknown }> = []
afterEach(async () => {
  for (const s of toStop.splice(0)) await s.stop()
})

const chatBody = (stream: boolean) => JSON.stringify({ model: 'mock:gpt-mock', stream, max_tokens: 100, messages: [{ role: 'user', content: 'Tell me about the sea.' }] })

test('during the grace a request on an idle keep-alive connection is not taken: it reaches no provider', async () => {
  const mock = startMockProvider({ chunks: 40, chunkDelayMs: 250 })
  toStop.push(mock)
  const gw = await spawnGateway({ mock, config: { shutdown_grace_ms: 4_000, pricing: { 'mock:gpt-mock': { input_per_million: 1, output_per_million: 2 } } } })
  toStop.push(gw)
  const port = Number(new URL(gw.url).port)
  const { secret } = await gw.userWithKey({ id: 'team', max_budget: 100 })
  // A kept-alive connection, used once and idle.
  const socket = connect({ host: '127.0.0.1', port })
  let received = ''
  socket.on('data', (c: Buffer) => (received += c.toString('latin1')))
  socket.on('error', () => {})
  await new Promise((resolve) => socket.on('connect', resolve))
  socket.write(message('GET /health HTTP/1.1', { host: '127.0.0.1' }))
  while (!/\r\n\r\n[\s\S]*\}/.test(received)) await Bun.sleep(10)
  received = ''
  // A stream in flight keeps the grace going.
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: chatBody(true),
  })
  const reader = res.body!.getReader()
  await reader.read()
  void (async () => {
    try {
      for (;;) if ((await reader.read()).done) break
    } catch {}
  })()

  gw.proc.kill('SIGTERM')
  await Bun.sleep(1_000)
  expect(gw.proc.exitCode).toBe(null)
  const callsAtStop = mock.calls.length
  if (!socket.destroyed) socket.write(message('POST /v1/chat/completions HTTP/1.1', { host: '127.0.0.1', authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, chatBody(false)))
  await Bun.sleep(1_500)
  const status = /^HTTP\/1\.1 (\d{3})/.exec(received)?.[1] ?? 'none'
  socket.destroy()
  expect({ servedLate: status === '200', providerCallsAfterSigterm: mock.calls.length - callsAtStop }).toEqual({ servedLate: false, providerCallsAfterSigterm: 0 })
  await gw.proc.exited
}, 60_000)
