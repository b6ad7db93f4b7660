/**
 * A process's price cache must not outlive `TOLLGATE_CACHE_TTL_MS` when the host's clock steps
 * backwards (an NTP correction, a VM resumed on a host behind). README: without Redis "other processes see changes
 * within cache_ttl_ms" (the key cache and the price list are trusted in memory for that long); SPEC §5: a model with
 * no price row → 402 `pricing_required` before any upstream call. The PriceBook decides staleness by
 * `Date.now() - loadedAt > ttl`, so after a step back of an hour `now - loadedAt` is negative for an hour: a price
 * deleted (or raised) through another process sharing the store is ignored for that hour, and the unpriced model is
 * served at its old price.
 *
 * Two gateways on one SQLite file (as TOLLGATE_WORKERS runs them, or two replicas without Redis), one host clock.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'

let mock: MockProvider
beforeAll(() => {
  mock = startMockProvider()
})
afterAll(async () => {
  await mock.stop()
})

const PRICING = { 'mock:gpt-mock': { input_per_million: 1, output_per_million: 2 } }

const chat = (gw: TestGateway, secret: string) =>
  fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'hello' }], max_tokens: 20 }),
  })

test('a price deleted through another process is refused 402 within the cache TTL after the clock stepped back', async () => {
  const realNow = Date.now
  const a = await startTestGateway({ mock, config: { log_level: 'silent', pricing: PRICING } })
  let b: TestGateway | undefined
  try {
    b = await startTestGateway({ mock, config: { log_level: 'silent', pricing: PRICING, db: a.dbPath } })
    const { secret } = await a.userWithKey({ id: 'u', max_budget: 100 })
    // The price has been in force for days (so it is in force by either clock).
    a.exec('UPDATE prices SET created_at = created_at - 172800000')
    // A serves a request: its price list is loaded now.
    const first = await chat(a, secret)
    expect(first.status).toBe(200)
    await first.text()

    // NTP steps the host's clock back an hour.
    Date.now = () => realNow() - 3_600_000
    // The operator unprices the model through the other process.
    const del = await b.admin('DELETE', '/v1/pricing/mock:gpt-mock')
    expect(del.status).toBe(200)
    expect(del.body.deleted).toBe(true)
    // b, which made the change, refuses at once.
    expect((await chat(b, secret)).status).toBe(402)

    // Past the cache TTL (5 s) of real time, a must refuse too, before calling the provider.
    await Bun.sleep(6_000)
    const calls = mock.calls.length
    const res = await chat(a, secret)
    const body = (await res.json()) as { error?: { code?: string } }
    expect({ status: res.status, code: body?.error?.code, upstreamCalls: mock.calls.length - calls }).toEqual({
      status: 402,
      code: 'pricing_required',
      upstreamCalls: 0,
    })
  } finally {
    Date.now = realNow
    await b?.stop()
    await a.stop()
  }
}, 60_000)
