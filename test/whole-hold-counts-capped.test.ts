/**
 * An answer charged its whole hold records the tokens the hold priced, at most MAX_TOKEN_COUNT (a billion) each, as
 * a provider's counts are. A free model (priced 0/0) holds $0 for any max output, so `max_tokens: 2^53-1, n: 128`
 * answered without a usage priced 1.15e18 completion tokens; recorded as that, nine such rows overflowed SQLite's
 * 64-bit sum() and /v1/usage/summary answered 500 (postgres-whole-hold-counts-capped.engine.ts: Postgres refused the
 * settlement).
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'

let mock: MockProvider
let gw: TestGateway
let secret: string
beforeAll(async () => {
  mock = startMockProvider({ latencyMs: 1 })
  gw = await startTestGateway({
    mock,
    config: { log_level: 'silent', require_pricing: true, pricing: { 'mock:gpt-mock': { input_per_million: 0, output_per_million: 0 } } },
  })
  secret = (await gw.userWithKey({ id: 'free-rider', max_budget: 1_000_000 })).secret
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})

test('a whole-hold charge of a free model keeps its counts within a billion, and the totals still answer', async () => {
  const since = new Date(Date.now() - 1_000).toISOString()
  for (let i = 0; i < 9; i++) {
    mock.queue('no-usage')
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'hi' }], max_tokens: Number.MAX_SAFE_INTEGER, n: 128 }),
    })
    expect(res.status).toBe(200)
    await res.text()
  }
  await gw.settled()
  const rows = gw.query<{ p: number; c: number }>(`SELECT prompt_tokens AS p, completion_tokens AS c FROM usage WHERE user_id = 'free-rider'`)
  expect(rows).toHaveLength(9)
  // Every count a row records is at most MAX_TOKEN_COUNT (src/records/token-count.ts).
  const over = rows.filter((r) => r.c > 1_000_000_000 || r.p > 1_000_000_000).length
  const q = `since=${encodeURIComponent(since)}`
  const summary = await gw.admin('GET', `/v1/usage/summary?${q}`)
  expect({ status: summary.status, error: summary.body?.error?.message ?? null }).toEqual({ status: 200, error: null })
  expect((await gw.admin('GET', `/v1/users/free-rider/usage?${q}`)).status).toBe(200)
  expect(over).toBe(0)
})
