/**
 * Postgres: replicas whose clocks differ by a minute. Replica A (right) has rolled a user's daily
 * period into March 1 and billed a request there; the operator's PATCH of budget_period to monthly goes through
 * replica B, whose clock still says Feb 29 23:59:20. B sets period_start back to Feb 1 (newPeriodKind, on B's
 * clock) and counts the row dated March 1 into February's spend (usageCostSince); A's next hold rolls February
 * away and March begins without that row. With requests that cost exactly their hold (50 µUSD) and a monthly
 * budget of 100 µUSD, March admitted three (B now takes its clock as at the stored period's start). README: "spend is always what the usage rows dated since period_start
 * cost"; ledger.ts: a period never rolls back. The SQLite form (a clock stepped back by NTP):
 * test/period-kind-change-clock-behind.test.ts.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { startMockProvider, type MockProvider } from '../support/mock-provider'
import { spawnGateway, tempDir, type SpawnedGateway } from '../support/gateway'
import { chat, HOLD_USD, longText, PRICING } from '../support/exact-model'
import { startPostgres, type TestPostgres } from './support/postgres'

let pg: TestPostgres
let mock: MockProvider
beforeAll(async () => {
  pg = await startPostgres()
  mock = startMockProvider({ completionText: longText })
})
afterAll(async () => {
  mock?.stop()
  await pg?.destroy()
})

const MARCH_1 = Date.UTC(2028, 2, 1)

test('a budget_period change through a replica a minute behind does not forgive the new period its spend', async () => {
  const url = await pg.database('period_kind_lagging_replica')
  const preload = join(tempDir('tollgate-skew-'), 'skew.ts')
  // Each process's clock runs from an absolute time: SKEW_AT is where it stood when the test started it.
  await Bun.write(preload, 'const real = Date.now; const off = Number(process.env.SKEW_AT) - Number(process.env.SKEW_FROM); Date.now = () => real() + off\n')
  const clock = (at: number) => ({ BUN_OPTIONS: `--preload ${preload}`, SKEW_AT: String(at), SKEW_FROM: String(Date.now()) })
  let a: SpawnedGateway | undefined
  let b: SpawnedGateway | undefined
  try {
    a = await spawnGateway({ mock, config: { pricing: PRICING }, env: { TOLLGATE_DATABASE_URL: url, ...clock(MARCH_1 + 20_000) } })
    b = await spawnGateway({ mock, config: { pricing: PRICING }, env: { TOLLGATE_DATABASE_URL: url, ...clock(MARCH_1 - 40_000) } })
    const budget = 2 * HOLD_USD
    const { secret } = await a.userWithKey({ id: 'u', max_budget: budget, budget_period: 'daily' })
    // A, 2028-03-01T00:00:20Z: the first request of March, 50 µUSD.
    expect((await chat(a.url, secret)).status).toBe(200)
    await a.settled()
    // B, 2028-02-29T23:59:20Z on its clock: the operator moves the user to a monthly budget.
    expect((await b.admin('PATCH', '/v1/users/u', { budget_period: 'monthly' })).status).toBe(200)
    // Through A: March's budget has room for one more request.
    const statuses: number[] = []
    for (let i = 0; i < 3; i++) statuses.push((await chat(a.url, secret)).status)
    await a.settled()
    const user = (await a.admin('GET', '/v1/users/u')).body
    const rows = a.query<{ created_at: string; cost: string }>('SELECT created_at, cost FROM usage WHERE user_id = ?', 'u')
    const marchUsage = rows.filter((r) => Number(r.created_at) >= MARCH_1).reduce((s, r) => s + Number(r.cost), 0) / 1e6
    expect(user.period_start).toBe('2028-03-01T00:00:00.000Z')
    // Bug: statuses 200, 200, 402; March's usage 150 µUSD on a 100 µUSD budget, spend shown 100 µUSD.
    expect({ statuses, spend: user.spend, marchUsage }).toEqual({ statuses: [200, 402, 402], spend: budget, marchUsage: budget })
  } finally {
    await b?.stop()
    await a?.stop()
    rmSync(dirname(preload), { recursive: true, force: true })
  }
}, 90_000)
