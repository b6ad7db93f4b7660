/**
 * Mutation guard. README and src/server.ts: on SIGTERM the gateway "takes no new request" at once
 * (the listener is stopped first), and only then lets the requests in flight finish within the grace. The suites
 * send their late request only once the stop has ended (nothing in flight, so the grace is over at once and the
 * server closed anyway), so a stop that never closes the listener (`app.stop()` dropped) passes them while a
 * load balancer's requests keep reaching the provider, held and billed, for the whole grace.
 *
 * Here: a long stream in flight keeps the grace going; a request on a new connection a second after SIGTERM
 * must not be served, nor reach the provider.
 */
import { afterEach, expect, test } from 'bun:test'
import { startMockProvider } from './support/mock-provider'
import { spawnGateway } from './support/gateway'
import { message, sendRaw } from './support/raw-http'

const toStop: Array<{ stop(): unknown }> = []
afterEach(async () => {
  for (const s of toStop.splice(0)) await s.stop()
})

const chatBody = (stream: boolean) => JSON.stringify({ model: 'mock:gpt-mock', stream, max_tokens: 100, messages: [{ role: 'user', content: 'Tell me about the sea.' }] })

test('during the grace (a stream still in flight) a request on a new connection is not taken: it reaches no provider', async () => {
  // A stream of 40 deltas, 250 ms apart: 10 s, past the grace below.
  const mock = startMockProvider({ chunks: 40, chunkDelayMs: 250 })
  toStop.push(mock)
  const gw = await spawnGateway({ mock, config: { shutdown_grace_ms: 4_000, pricing: { 'mock:gpt-mock': { input_per_million: 1, output_per_million: 2 } } } })
  toStop.push(gw)
  const { secret } = await gw.userWithKey({ id: 'team', max_budget: 100 })
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
  expect(gw.proc.exitCode).toBe(null) // still in its grace
  const callsAtStop = mock.calls.length
  const late = await sendRaw(
    Number(new URL(gw.url).port),
    message('POST /v1/chat/completions HTTP/1.1', { host: '127.0.0.1', authorization: `Bearer ${secret}`, 'content-type': 'application/json', connection: 'close' }, chatBody(false)),
    3_000,
  ).then((r) => r.status, (e: Error) => `not taken (${(e as { code?: string }).code ?? e.message})`)
  expect({ servedLate: late === 200, providerCallsAfterSigterm: mock.calls.length - callsAtStop }).toEqual({ servedLate: false, providerCallsAfterSigterm: 0 })
  await gw.proc.exited
}, 60_000)
