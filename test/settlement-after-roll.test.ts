/**
 * A settlement is dated when it is asked for (Ledger.settle's `now`) but written later (the settlement lane,
 * ~5 ms; longer behind a lock). When the user's period begins in between (another process's first hold after
 * midnight rolls it, or a PATCH of budget_period to a kind whose calendar period began since), the cost counts
 * in the period that now stands, and its usage row is dated there too (at the period's start): spend is always
 * the sum of the usage rows dated since period_start, and the ended period's last_period_spend is not charged
 * for it. README, "Settle": a hold taken before midnight and settled after it counts in the new period, the one
 * its usage row is dated in.
 * The same on Postgres: test/engines/postgres-settlement-after-roll.engine.ts.
 */
import { afterEach, beforeEach, expect, test } from 'bun:test'
import { eq } from 'drizzle-orm'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { Ledger } from '../src/budget/ledger'
import { periodStart } from '../src/budget/period'
import type { Store } from '../src/store/store'
import { SqliteStore } from '../src/store/sqlite/store'
import { tempDir } from './support/gateway'
import { done, holdFor } from './support/ledger-contract'

const D1 = Date.UTC(2026, 10, 23)
const D2 = D1 + 86_400_000
let dir: string
let a: Store
let b: Store
beforeEach(() => {
  dir = tempDir()
  a = SqliteStore.open(join(dir, 'ledger.db'))
  b = SqliteStore.open(join(dir, 'ledger.db'))
})
afterEach(async () => {
  await a.close()
  await b.close()
  rmSync(dir, { recursive: true, force: true })
})

test('a settlement dated before midnight that lands after another process rolled the period counts where its usage row is dated', async () => {
  const t = a.tables
  await a.db.insert(t.users).values({ id: 'u', maxBudget: 10_000, budgetPeriod: 'daily', periodStart: periodStart('daily', D1), createdAt: D1, updatedAt: D1 })
  const la = new Ledger(a.ledger, 60_000)
  const lb = new Ledger(b.ledger, 60_000)
  const h = await la.reserve(holdFor('u', 5_000), D2 - 60_000) // process A, 23:59
  // Process A's stream ends at 23:59:59.999: the settlement is asked for (and dated) now, written a moment later…
  h.settle(done(4_000), D2 - 1)
  // …after process B's first request of the new day has rolled the period.
  await lb.reserve(holdFor('u', 1), D2 + 2)
  await la.flush()
  const [u] = await a.db.select().from(t.users).where(eq(t.users.id, 'u'))
  const rows = await a.db.select().from(t.usage).where(eq(t.usage.userId, 'u'))
  const inPeriod = rows.filter((r) => r.createdAt >= u!.periodStart).reduce((s, r) => s + r.cost, 0)
  expect(u!.periodStart).toBe(D2)
  // spend is what the usage rows dated in the period cost (4,000 counted in day 2 with its row dated there, or
  // 0 with the cost in day 1's last_period_spend), never 4,000 against day 2 with its row dated on day 1.
  expect({ spend: u!.spend, usageInPeriod: inPeriod }).toEqual({ spend: inPeriod, usageInPeriod: inPeriod })
  expect(u!.spend + (u!.lastPeriodSpend ?? 0)).toBe(4_000)
})

test('a settlement asked for before a change of period kind that lands after it counts in the new period, its row dated there', async () => {
  const t = a.tables
  await a.db.insert(t.users).values({ id: 'u', maxBudget: 10_000, budgetPeriod: 'monthly', periodStart: periodStart('monthly', D1), createdAt: D1, updatedAt: D1 })
  const la = new Ledger(a.ledger, 60_000)
  const h = await la.reserve(holdFor('u', 5_000), D1 - 2_000)
  h.settle(done(4_000), D1 - 1_000) // Sunday 23:59:59, written a moment later…
  // …after another process's PATCH budget_period (src/routes/admin/users.ts) made the period weekly at 00:00:00.001:
  // the week under way, begun at D1 (a Monday), with what its usage rows cost (nothing yet).
  await b.updateUser('u', { budgetPeriod: 'weekly', updatedAt: D1 + 1 }, undefined, D1 + 1)
  await la.flush()
  const [u] = await a.db.select().from(t.users).where(eq(t.users.id, 'u'))
  const rows = await a.db.select().from(t.usage).where(eq(t.usage.userId, 'u'))
  expect(u!.spend).toBe(4_000)
  expect(rows.map((r) => ({ createdAt: r.createdAt, cost: r.cost }))).toEqual([{ createdAt: D1, cost: 4_000 }])
})
