import { afterAll, beforeAll, expect, test } from 'bun:test'
import OpenAI from 'openai'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { join } from 'node:path'
import { rmSync } from 'node:fs'
import { startTestGateway, tempDir, type TestGateway } from './support/gateway'

/**
 * A rolling deploy: replica A is stopped while a JSON call is running on its provider past the grace. A cuts the
 * call and charges its whole hold (README: a JSON call cut by the stop pays as one cut at the timeout), and answers
 * 503 `gateway_stopping` with `x-should-retry: false` and no `Retry-After`: the SDK does not send it again (to
 * replica B behind the load balancer), to be answered and paid a second time.
 */
let mock: MockProvider
let a: TestGateway
let b: TestGateway
let secret: string
const dir = tempDir()
const db = join(dir, 'tollgate.db')
const PRICING = { 'mock:gpt-mock': { input_per_million: 2, output_per_million: 8 } }

beforeAll(async () => {
  mock = startMockProvider()
  // Two replicas on one database file.
  a = await startTestGateway({ mock, config: { pricing: PRICING, shutdown_grace_ms: 300, db } })
  b = await startTestGateway({ mock, config: { pricing: PRICING, db } })
  secret = (await a.userWithKey({ id: 'deploy', max_budget: 100 })).secret
})
afterAll(async () => {
  await b.stop()
  await mock.stop()
  rmSync(dir, { recursive: true, force: true })
})

test('a JSON call cut and paid by the stop is not retried by the SDK at the user\'s expense', async () => {
  mock.queue('hang')
  let attempt = 0
  const seen: Array<{ status: number; shouldRetry: string | null; retryAfter: string | null }> = []
  // The load balancer: the first attempt reaches A, any retry B.
  const balancer = Object.assign(async (input: string | URL | Request, init?: RequestInit) => {
    const url = String(input instanceof Request ? input.url : input)
    const target = attempt++ === 0 ? url : url.replace(a.url, b.url)
    const res = await fetch(target, init)
    seen.push({ status: res.status, shouldRetry: res.headers.get('x-should-retry'), retryAfter: res.headers.get('retry-after') })
    return res
  }, { preconnect: fetch.preconnect })
  const client = new OpenAI({ apiKey: secret, baseURL: `${a.url}/v1`, fetch: balancer })
  const answer = client.chat.completions.create({ model: 'mock:gpt-mock', max_tokens: 2000, messages: [{ role: 'user', content: 'hi' }] }).then(
    () => 'answered',
    (e) => e,
  )
  while (mock.calls.length === 0) await Bun.sleep(5)
  await a.stop()
  await answer
  await b.settled()
  const rows = b.query('SELECT status, cost, reserved FROM usage ORDER BY rowid')
  const first = seen[0]!
  expect(first.status).toBe(503)
  // The cut call was paid its whole hold.
  expect(rows[0].cost).toBe(rows[0].reserved)
  expect(rows[0].cost).toBeGreaterThan(0)
  expect({ shouldRetry: first.shouldRetry, retryAfter: first.retryAfter, providerCalls: mock.calls.length, paidRows: rows.filter((r: any) => r.cost > 0).length }).toEqual({
    shouldRetry: 'false',
    retryAfter: null,
    providerCalls: 1,
    paidRows: 1,
  })
}, 30_000)
