/**
 * Mutation guard: README "Observability": `tollgate_refusals_total{code}` counts the
 * gateway's own 4xx refusals. A 503 at the upstream concurrency limit is counted in `tollgate_upstream_busy_total`,
 * and a provider's 5xx (502 upstream_error) is no refusal of anyone's: neither may show up as a refusal, or an alert
 * on refusals fires for an overloaded or failing provider.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { MASTER_KEY, startTestGateway, type TestGateway } from './support/gateway'

let mock: MockProvider
let gw: TestGateway
let secret: string

beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock, config: { metrics_enabled: true, max_upstream_concurrency: 1, log_level: 'silent' } })
  secret = (await gw.userWithKey({ id: 'le-5xx' })).secret
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})

const chat = (stream = false) =>
  fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'mock:gpt-mock', stream, messages: [{ role: 'user', content: 'hi' }], max_tokens: 20 }),
  })
const scrape = async () => (await fetch(`${gw.url}/metrics`, { headers: { authorization: `Bearer ${MASTER_KEY}` } })).text()

test('a 503 upstream_busy and a 502 upstream_error are not counted in tollgate_refusals_total', async () => {
  // One call holds the only upstream slot (a stream the mock never ends until it is cancelled).
  mock.queue('hang')
  const abort = new AbortController()
  const holding = fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    signal: abort.signal,
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'mock:gpt-mock', stream: true, messages: [{ role: 'user', content: 'hold' }], max_tokens: 20 }),
  }).catch(() => null)
  for (const deadline = Date.now() + 5_000; mock.calls.length === 0 && Date.now() < deadline; ) await Bun.sleep(10)
  const busy = await chat()
  expect(busy.status).toBe(503)
  expect(((await busy.json()) as any).error.code).toBe('upstream_busy')
  abort.abort()
  await holding
  for (const deadline = Date.now() + 5_000; !(await scrape()).includes('tollgate_upstream_in_flight 0\n') && Date.now() < deadline; ) await Bun.sleep(20)

  mock.queue('fail-500')
  const failed = await chat()
  expect(failed.status).toBe(502)
  await gw.settled()

  const text = await scrape()
  expect(text).toContain('tollgate_upstream_busy_total 1\n')
  expect(text).toMatch(/tollgate_http_requests_total\{route="\/v1\/chat\/completions",method="POST",status="503"\} 1\n/)
  expect(text.split('\n').filter((l) => l.startsWith('tollgate_refusals_total') || l.startsWith('tollgate_upstream_refusals_total'))).toEqual([])
})
