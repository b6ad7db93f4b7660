/**
 * Mutation guard. A scheduled price (`effective_from`) applies from its time on every read, not a cache
 * TTL later (README "Prices": a row "applies from then on"; SPEC §3: `GET /v1/models` lists what the key may call
 * "with their prices"). With a long `cache_ttl_ms`, the list read just before a scheduled rise must show the rise as
 * soon as it takes effect, as the request path bills it — not the superseded price for up to the TTL.
 *
 * Kills: src/pricing/price-listing.ts all(): `… > this.ttlMs || now >= this.nextChangeAt` → `… > this.ttlMs`
 * (the listing no longer reloads at the next scheduled start), which price-listing-scheduled-start and
 * price-schedule survived.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'

let mock: MockProvider
let gw: TestGateway

beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock, config: { cache_ttl_ms: 60_000 } })
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})

const listedPrice = async (model: string): Promise<number | undefined> => {
  const res = await fetch(`${gw.url}/v1/models`, { headers: gw.master })
  const list = (await res.json()) as { data: Array<{ id: string; pricing: { input_per_million: number } | null }> }
  return list.data.find((m) => m.id === model)?.pricing?.input_per_million
}

test('GET /v1/models shows a scheduled price from its start, whatever the cache TTL', async () => {
  expect((await gw.admin('POST', '/v1/pricing', { model: 'mock:gpt-rise', input_per_million: 1, output_per_million: 1 })).status).toBe(201)
  const at = Date.now() + 1_500
  const scheduled = await gw.admin('POST', '/v1/pricing', { model: 'mock:gpt-rise', input_per_million: 7, output_per_million: 7, effective_from: new Date(at).toISOString() })
  expect(scheduled.status).toBe(201)
  // Read (and cached) before the start: the price in force.
  expect(await listedPrice('mock:gpt-rise')).toBe(1)
  await Bun.sleep(at - Date.now() + 100)
  // After the start, the rise, as the request path would now bill it.
  expect(await listedPrice('mock:gpt-rise')).toBe(7)
})
