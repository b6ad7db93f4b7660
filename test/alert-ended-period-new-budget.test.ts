/**
 * A user's row that still holds a period that has ended (no request since midnight) is judged against that
 * ended period by the first check after its end only (AlertWatch.storedPeriodThresholds), as a rolled row is
 * (rolledUsersOver, gated by periodsEndedSince) and as the README says. Judged by every check, an operator who
 * changes the budget in the morning, before the user's first request of the day, would get threshold alerts
 * for yesterday's spend judged against today's budget (the dedupe key carries the budget as it is now): here a
 * 100 % alert for a user who has spent nothing today and 90 % of yesterday's budget.
 */
import { beforeEach, expect, test } from 'bun:test'
import { eq } from 'drizzle-orm'
import type { AlertOutbox } from '../src/alerts/outbox'
import { AlertWatch } from '../src/alerts/watch'
import type { Ledger } from '../src/budget/ledger'
import { configSchema } from '../src/config/schema'
import type { Store } from '../src/store/store'
import { MASTER_KEY } from './support/gateway'
import { done, holdFor } from './support/ledger-contract'
import { alertStoreEachTest } from './support/alert-store'

const DAY = 86_400_000
const HOUR = 3_600_000
const settings = configSchema.parse({ master_key: MASTER_KEY, alerts: { thresholds: [50, 80, 100] } }).alerts
const day0 = Date.UTC(2026, 11, 1)
const day1 = day0 + DAY

let store: Store
let ledger: Ledger
let outbox: AlertOutbox
const opened = alertStoreEachTest({ id: 'idle-today', maxBudget: 10_000_000, budgetPeriod: 'daily', periodStart: day0, createdAt: day0, updatedAt: day0 })
beforeEach(() => void ({ store, ledger, outbox } = opened))

const check = async (watch: AlertWatch, at: number) => {
  const written: string[] = []
  await watch.check(async (a) => {
    if (await outbox.raise(a, at)) written.push(a.dedupeKey)
  }, at)
  return written.sort()
}

test("a budget changed the next morning, before the user's first request, raises no alert about yesterday", async () => {
  const watch = new AlertWatch(store.alerts, settings)
  const hold = await ledger.reserve(holdFor('idle-today', 9_000_000), day0 + 20 * HOUR)
  hold.settle(done(9_000_000), day0 + 20 * HOUR)
  await ledger.flush()
  // Yesterday: $9 of $10 spent, 50 % and 80 % alerted.
  expect(await check(watch, day0 + 20 * HOUR + 10_000)).toEqual([`budget:user:idle-today:${day0}:10000000:50`, `budget:user:idle-today:${day0}:10000000:80`])
  expect(await check(watch, day1 + 10_000)).toEqual([])
  // 09:00 next day, no request yet today: the operator sets today's budget to $9 (PATCH max_budget).
  await store.db.update(store.tables.users).set({ maxBudget: 9_000_000, updatedAt: day1 + 9 * HOUR }).where(eq(store.tables.users.id, 'idle-today'))
  // Today's spend is $0 (GET /v1/users shows spend 0): nothing has been crossed, today or under yesterday's budget.
  expect(await check(watch, day1 + 9 * HOUR + 10_000)).toEqual([])
})
