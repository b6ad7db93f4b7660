/**
 * Mutation guard (Postgres): one settlement batch carries a settlement dated just before midnight and one dated just
 * after, for a daily user whose row still has yesterday's period. SETTLE rolls the row and keeps the ended period's
 * figures for the alerts (last_period_start / last_period_spend / last_period_budget; README "Budget alerts": a
 * crossing settled in a period's last interval is judged by the first check after the end "from the start, spend and
 * budget the roll kept on the row"). The ended period's spend is what was spent in it: the stored spend plus the
 * batch's costs dated before the end, as settling them one by one (and the SQLite store) leaves it. Without them the
 * 80 %/100 % alert crossed by that last settlement is never raised.
 *
 * Kills the mutant in SETTLE (src/store/postgres/ledger-store.ts, `u`'s last_period_spend):
 *   `ELSE users.spend + a.ended_cost END`  →  `ELSE users.spend END`
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { eq } from 'drizzle-orm'
import { Ledger } from '../../src/budget/ledger'
import { PostgresStore } from '../../src/store/postgres/store'
import { done, holdFor } from '../support/ledger-contract'
import { startPostgres, type TestPostgres } from './support/postgres'

const D1 = Date.UTC(2026, 10, 23) // a Monday, 00:00 UTC
const D2 = D1 + 86_400_000
let pg: TestPostgres
beforeAll(async () => {
  pg = await startPostgres()
})
afterAll(async () => {
  await pg?.destroy()
})

test('Postgres: a batch settling both sides of midnight keeps the ended period\'s whole spend for its alerts', async () => {
  const store = await PostgresStore.open(await pg.database('rolling_batch_ended_spend'))
  try {
    const t = store.tables
    await store.db.insert(t.users).values({ id: 'u', maxBudget: 10_000, budgetPeriod: 'daily', periodStart: D1, createdAt: D1, updatedAt: D1 })
    const ledger = new Ledger(store.ledger, 60_000)
    // 500 spent during day 1, on its own.
    const early = await ledger.reserve(holdFor('u', 1_000), D1 + 3_600_000)
    early.settle(done(500), D1 + 3_600_100)
    await ledger.flush()

    const before = await ledger.reserve(holdFor('u', 9_000), D2 - 120_000)
    const after = await ledger.reserve(holdFor('u', 300), D2 - 60_000)
    before.settle(done(9_000), D2 - 1_000) // 23:59:59: day 1's, taking it to 95 % of its budget
    after.settle(done(100), D2 + 1_000) // 00:00:01: day 2's, in the same batch: it rolls the row
    await ledger.flush()

    const [u] = await store.db.select().from(t.users).where(eq(t.users.id, 'u'))
    expect({
      spend: Number(u!.spend), reserved: Number(u!.reserved), periodStart: Number(u!.periodStart),
      lastPeriodStart: Number(u!.lastPeriodStart), lastPeriodSpend: Number(u!.lastPeriodSpend), lastPeriodBudget: Number(u!.lastPeriodBudget),
    }).toEqual({ spend: 100, reserved: 0, periodStart: D2, lastPeriodStart: D1, lastPeriodSpend: 9_500, lastPeriodBudget: 10_000 })
  } finally {
    await store.close()
  }
})
