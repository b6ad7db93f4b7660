/**
 * Mutation guard (Postgres SETTLE, src/store/postgres/ledger-store.ts): a settlement rolls its user's period only when
 * that user's kind of period has ended (settlementRollTo): SETTLE takes, per user, the start of *its* kind of period at
 * the settlement (`p`: CASE users.budget_period …). Every period test of the ledger suite is daily, so taking another
 * kind's start went unnoticed; for a weekly (or monthly) user the first settlement of each new day then "rolls" the
 * week, resetting spend to that settlement's cost: the week's earlier spend is forgotten and the budget can be spent
 * again every day.
 *
 * Kills the mutant: `WHEN 'weekly' THEN st.weekly`  →  `WHEN 'weekly' THEN st.daily`
 * (and the monthly variant of this test kills `WHEN 'monthly' THEN st.monthly` → `st.daily` / `st.weekly`).
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { eq } from 'drizzle-orm'
import { Ledger } from '../../src/budget/ledger'
import type { BudgetPeriod } from '../../src/budget/period'
import { GatewayError } from '../../src/http/errors'
import { PostgresStore } from '../../src/store/postgres/store'
import { done, holdFor } from '../support/ledger-contract'
import { startPostgres, type TestPostgres } from './support/postgres'

const MONDAY = Date.UTC(2026, 10, 23) // Monday 23 November 2026, 00:00 UTC
const DAY = 86_400_000
const MONTH_START = Date.UTC(2026, 10, 1)
let pg: TestPostgres
beforeAll(async () => {
  pg = await startPostgres()
})
afterAll(async () => {
  await pg?.destroy()
})

for (const [kind, start] of [['weekly', MONDAY], ['monthly', MONTH_START]] as Array<[BudgetPeriod, number]>)
  test(`Postgres: a ${kind} user's settlement on a later day of its period adds to the period's spend, rolls nothing`, async () => {
    const store = await PostgresStore.open(await pg.database(`${kind}_settlement_no_daily_roll`))
    try {
      const t = store.tables
      await store.db.insert(t.users).values({ id: 'u', maxBudget: 10_000, budgetPeriod: kind, periodStart: start, createdAt: start, updatedAt: start })
      const ledger = new Ledger(store.ledger, 60_000)
      const figures = async () => {
        await ledger.flush()
        const [u] = await store.db.select().from(t.users).where(eq(t.users.id, 'u'))
        return { spend: Number(u!.spend), reserved: Number(u!.reserved), periodStart: Number(u!.periodStart) }
      }
      // Monday: 5 000 spent.
      const monday = await ledger.reserve(holdFor('u', 6_000), MONDAY + 3_600_000)
      monday.settle(done(5_000), MONDAY + 3_601_000)
      expect(await figures()).toEqual({ spend: 5_000, reserved: 0, periodStart: start })
      // Tuesday, same period: 1 000 more.
      const tuesday = await ledger.reserve(holdFor('u', 2_000), MONDAY + DAY + 3_600_000)
      tuesday.settle(done(1_000), MONDAY + DAY + 3_601_000)
      expect(await figures()).toEqual({ spend: 6_000, reserved: 0, periodStart: start })
      // Wednesday: 4 000 is left of the period's 10 000, not 9 000.
      const refused = await ledger.reserve(holdFor('u', 5_000), MONDAY + 2 * DAY + 3_600_000).then(() => null, (e) => e)
      expect(refused instanceof GatewayError ? refused.code : refused).toBe('budget_exceeded')
    } finally {
      await store.close()
    }
  })
