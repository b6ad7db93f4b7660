/**
 * /metrics' cost counters say what the ledger charged. A hold the sweeper charged as `expired` while its request
 * was still running (a TTL below the upstream timeout; on Postgres, also another replica's sweep) is settled once:
 * the request's own settlement, arriving after, finds the hold gone and charges nothing, so it must count nothing
 * either (README, Observability). Run on both stores (test/engines/stores.engine.ts).
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { MASTER_KEY, startTestGateway } from './support/gateway'
import { waitFor } from './support/wait-for'

let mock: MockProvider
beforeAll(() => {
  mock = startMockProvider({ latencyMs: 3_500 })
})
afterAll(async () => {
  await mock.stop()
})

const metricValue = (text: string, series: string) => {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '))
  return line === undefined ? 0 : Number(line.slice(series.length + 1))
}

test('a request settled after the sweeper charged its hold adds nothing to tollgate_cost_usd_total or tollgate_settlements_total', async () => {
  // TTL 1 s, below the upstream timeout (allowed, with a startup warning): the sweeper charges the hold while the
  // provider is still answering.
  const gw = await startTestGateway({
    mock,
    config: { metrics_enabled: true, log_level: 'silent', reservation_ttl_sec: 1, pricing: { 'mock:gpt-mock': { input_per_million: 1000, output_per_million: 2000 } } },
  })
  try {
    const { secret } = await gw.userWithKey({ id: 'late', max_budget: 100 })
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'hello' }], max_tokens: 50 }),
    })
    expect(res.status).toBe(200)
    await res.text()
    await gw.settled()
    await waitFor(5_000, () => Number(gw.query('SELECT count(*) AS n FROM reservations')[0].n) === 0)
    // Ground truth: the ledger charged the hold once, as expired.
    const rows = gw.query<{ status: string; cost: number }>('SELECT status, cost FROM usage')
    expect(rows.map((r) => r.status)).toEqual(['expired'])
    const charged = rows[0]!.cost
    const user = (await gw.admin('GET', '/v1/users/late')).body
    expect(user.spend).toBeCloseTo(charged / 1e6, 9)

    const text = await (await fetch(`${gw.url}/metrics`, { headers: { authorization: `Bearer ${MASTER_KEY}` } })).text()
    expect({
      cost: metricValue(text, 'tollgate_cost_usd_total{model="mock:gpt-mock"}'),
      expired: metricValue(text, 'tollgate_settlements_total{status="expired"}'),
      ok: metricValue(text, 'tollgate_settlements_total{status="ok"}'),
    }).toEqual({ cost: charged / 1e6, expired: 1, ok: 0 })
  } finally {
    await gw.stop()
  }
})
