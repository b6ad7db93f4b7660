/**
 * tollgate_cost_usd_total says what the ledger charged (README, Observability), to the micro-USD: it counts whole
 * micro-USD and divides once when scraped. Summed in USD, settlement by settlement, twelve requests read
 * 0.0026820000000000004 where the ledger and the usage summary say 0.002682, and a reconciliation of the scrape
 * against the bill drifted further with every settlement.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { MASTER_KEY, startTestGateway } from './support/gateway'

let mock: MockProvider
beforeAll(() => {
  mock = startMockProvider({ latencyMs: 1 })
})
afterAll(async () => {
  await mock.stop()
})

test('tollgate_cost_usd_total equals the sum of the usage rows, as the summary states it', async () => {
  const gw = await startTestGateway({
    mock,
    config: { metrics_enabled: true, log_level: 'silent', pricing: { 'mock:gpt-mock': { input_per_million: 1.7, output_per_million: 3.3 } } },
  })
  try {
    const { secret } = await gw.userWithKey({ id: 'reconciled' })
    for (let i = 0; i < 12; i++) {
      const res = await fetch(`${gw.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'hello there '.repeat(1 + i * 7) }], max_tokens: 40 }),
      })
      expect(res.status).toBe(200)
      await res.text()
    }
    await gw.settled()
    const summary = (await gw.admin('GET', '/v1/usage/summary')).body
    const ledger = gw.query<{ c: number }>('SELECT sum(cost) AS c FROM usage')[0]!.c
    expect(summary.totals.cost).toBe(ledger / 1e6)
    const text = await (await fetch(`${gw.url}/metrics`, { headers: { authorization: `Bearer ${MASTER_KEY}` } })).text()
    const line = text.split('\n').find((l) => l.startsWith('tollgate_cost_usd_total{model="mock:gpt-mock"} '))
    expect(line).toBe(`tollgate_cost_usd_total{model="mock:gpt-mock"} ${ledger / 1e6}`)
  } finally {
    await gw.stop()
  }
})
