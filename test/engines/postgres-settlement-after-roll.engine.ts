/**
 * test/settlement-after-roll.test.ts's case on the Postgres store (two replicas on one database): a settlement
 * dated before the user's period began, written in a later batch, counts in that period and its usage row is
 * dated at its start (SETTLE's GREATEST(created_at, period_start)).
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { eq } from 'drizzle-orm'
import { Ledger } from '../../src/budget/ledger'
import { periodStart } from '../../src/budget/period'
import { PostgresStore } from '../../src/store/postgres/store'
import { done, holdFor } from '../support/ledger-contract'
import { startPostgres, type TestPostgres } from './support/postgres'

const D1 = Date.UTC(2026, 10, 23)
const D2 = D1 + 86_400_000
let pg: TestPostgres
beforeAll(async () => {
  pg = await startPostgres()
})
afterAll(async () => {
  await pg?.destroy()
})

test('Postgres: a settlement dated before midnight that lands after another replica rolled the period counts where its usage row is dated', async () => {
  const url = await pg.database('late_settlement')
  const a = await PostgresStore.open(url)
  const b = await PostgresStore.open(url)
  try {
    const t = a.tables
    await a.db.insert(t.users).values({ id: 'u', maxBudget: 10_000, budgetPeriod: 'daily', periodStart: periodStart('daily', D1), createdAt: D1, updatedAt: D1 })
    const la = new Ledger(a.ledger, 60_000)
    const lb = new Ledger(b.ledger, 60_000)
    const h = await la.reserve(holdFor('u', 5_000), D2 - 60_000)
    h.settle(done(4_000), D2 - 1) // asked for (and dated) at 23:59:59.999, written in A's next batch…
    await lb.reserve(holdFor('u', 1), D2 + 2) // …after replica B's first hold of the new day rolled the period
    await la.flush()
    const [u] = await a.db.select().from(t.users).where(eq(t.users.id, 'u'))
    const rows = await a.db.select().from(t.usage).where(eq(t.usage.userId, 'u'))
    const inPeriod = rows.filter((r) => Number(r.createdAt) >= Number(u!.periodStart)).reduce((s, r) => s + Number(r.cost), 0)
    expect(Number(u!.periodStart)).toBe(D2)
    expect({ spend: Number(u!.spend), usageInPeriod: inPeriod }).toEqual({ spend: inPeriod, usageInPeriod: inPeriod })
    expect(Number(u!.spend) + Number(u!.lastPeriodSpend ?? 0)).toBe(4_000)
  } finally {
    await a.close()
    await b.close()
  }
})

test('Postgres: a settlement asked for before a change of period kind that lands after it counts in the new period, its row dated there', async () => {
  const url = await pg.database('settlement_after_kind_change')
  const a = await PostgresStore.open(url)
  const b = await PostgresStore.open(url)
  try {
    const t = a.tables
    await a.db.insert(t.users).values({ id: 'u', maxBudget: 10_000, budgetPeriod: 'monthly', periodStart: periodStart('monthly', D1), createdAt: D1, updatedAt: D1 })
    const la = new Ledger(a.ledger, 60_000)
    const h = await la.reserve(holdFor('u', 5_000), D1 - 2_000)
    h.settle(done(4_000), D1 - 1_000) // Sunday 23:59:59, written a moment later…
    // …after another replica's PATCH budget_period (src/routes/admin/users.ts) made the period weekly at 00:00:00.001:
    // the week under way, begun at D1 (a Monday), with what its usage rows cost (nothing yet).
    await b.updateUser('u', { budgetPeriod: 'weekly', updatedAt: D1 + 1 }, undefined, D1 + 1)
    await la.flush()
    const [u] = await a.db.select().from(t.users).where(eq(t.users.id, 'u'))
    const rows = await a.db.select().from(t.usage).where(eq(t.usage.userId, 'u'))
    expect(Number(u!.spend)).toBe(4_000)
    expect(rows.map((r) => ({ createdAt: Number(r.createdAt), cost: Number(r.cost) }))).toEqual([{ createdAt: D1, cost: 4_000 }])
  } finally {
    await a.close()
    await b.close()
  }
})
