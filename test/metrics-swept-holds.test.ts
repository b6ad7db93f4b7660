import { afterAll, beforeAll, expect, test } from 'bun:test'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { MASTER_KEY, startTestGateway, tempDir } from './support/gateway'
import { waitFor } from './support/wait-for'

let mock: MockProvider
beforeAll(() => {
  mock = startMockProvider()
})
afterAll(async () => {
  await mock.stop()
})

const metricValue = (text: string, series: string) => {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '))
  return line === undefined ? 0 : Number(line.slice(series.length + 1))
}

// The sweeper's settlements are charges like any other (SPEC §6: a hold past its TTL is settled at its full
// amount), so the process that sweeps a hold counts it in tollgate_settlements_total{status="expired"} and its
// amount in tollgate_cost_usd_total (README, Observability), as it would a settlement of its own.
test('a hold the sweeper settles as expired is counted in tollgate_settlements_total and tollgate_cost_usd_total', async () => {
  const dir = tempDir()
  const db = join(dir, 'swept.db')
  const first = await startTestGateway({ mock, config: { db } })
  await first.userWithKey({ id: 'swept', max_budget: 10 })
  await first.stop()
  // A hold left behind by a crashed process: 0.25 USD, expired an hour ago.
  const now = Date.now()
  const amount = 250_000
  const { Database } = await import('bun:sqlite')
  const raw = new Database(db)
  raw.run(
    `INSERT INTO reservations (request_id, user_id, key_id, amount, model, provider, endpoint, price_id, stream, created_at, expires_at, key_debited)
     VALUES ('req-crashed', 'swept', NULL, ?, 'mock:gpt-mock', 'mock', '/v1/chat/completions', NULL, 0, ?, ?, 0)`,
    [amount, now - 7_200_000, now - 3_600_000],
  )
  raw.run(`UPDATE users SET reserved = reserved + ? WHERE id = 'swept'`, [amount])
  raw.close()

  const gw = await startTestGateway({ mock, config: { db, metrics_enabled: true, log_level: 'silent' } })
  try {
    await waitFor(10_000, () => Number(gw.query('SELECT count(*) AS n FROM reservations')[0].n) === 0)
    await gw.settled()
    const usage = gw.query(`SELECT status, cost FROM usage WHERE request_id = 'req-crashed'`)
    expect(usage).toEqual([{ status: 'expired', cost: amount }])
    const text = await (await fetch(`${gw.url}/metrics`, { headers: { authorization: `Bearer ${MASTER_KEY}` } })).text()
    // The ledger charged 0.25 USD as `expired`; the metrics must say so.
    expect(metricValue(text, 'tollgate_settlements_total{status="expired"}')).toBe(1)
    expect(metricValue(text, 'tollgate_cost_usd_total{model="mock:gpt-mock"}')).toBeCloseTo(amount / 1e6, 9)
    // Its latency is the hold's age, not a provider call's: the upstream histogram is left alone.
    expect(metricValue(text, 'tollgate_upstream_duration_seconds_count{provider="mock"}')).toBe(0)
  } finally {
    await gw.stop()
    rmSync(dir, { recursive: true, force: true })
  }
})
