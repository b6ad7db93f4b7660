/**
 * README: "Whether a PATCH changes the kind is judged against the row under that lock: naming the kind the user has
 * changes nothing". An operator's PATCH that repeats the user's `budget_period` (a script or the CLI sending the whole
 * settings, as `{"budget_period":"daily"}` beside another change) must leave the row as it is: in particular the ended
 * period the alerts have not judged yet (a crossing settled at 23:59:59, its process gone before its next check).
 * A store that took the same kind for a change put the user in "a new" period, wiping the ended period (and
 * `last_period_*`), so that period's 50 %/80 % crossings were never alerted.
 * (Mutation guard: src/store/period-kind.ts:16 newPeriodKind losing its `changes.budgetPeriod === row.budgetPeriod`
 * early return.)
 */
import { beforeEach, expect, test } from 'bun:test'
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
const opened = alertStoreEachTest({ id: 'u-daily', maxBudget: 10_000_000, budgetPeriod: 'daily', periodStart: day0, createdAt: day0, updatedAt: day0 })
beforeEach(() => void ({ store, ledger, outbox } = opened))

const check = async (watch: AlertWatch, at: number) => {
  const written: string[] = []
  await watch.check(async (a) => {
    if (await outbox.raise(a, at)) written.push(a.dedupeKey)
  }, at)
  return written.sort()
}

const spend = async (micros: number, at: number) => {
  const hold = await ledger.reserve(holdFor('u-daily', micros), at)
  hold.settle(done(micros), at)
  await ledger.flush()
}

for (const rolledBy of ['nothing', 'a request'] as const)
  test(`a PATCH naming the period kind the user has keeps the ended period's unseen crossing (row rolled by ${rolledBy})`, async () => {
    const before = new AlertWatch(store.alerts, settings)
    expect(await check(before, day0 + 20 * HOUR)).toEqual([])
    // $9 of $10 settled at 23:59:59; the process dies before its next check.
    await spend(9_000_000, day1 - 1_000)
    if (rolledBy === 'a request') await spend(10_000, day1 + 8 * HOUR)
    // 09:00: an operator's PATCH repeats the kind the user has (beside a new alias), as PATCH /v1/users/{id} does.
    const updated = await store.updateUser('u-daily', { alias: 'team', budgetPeriod: 'daily', updatedAt: day1 + 9 * HOUR }, undefined, day1 + 9 * HOUR)
    expect(updated?.row.budgetPeriod).toBe('daily')
    const restarted = new AlertWatch(store.alerts, settings)
    expect(await check(restarted, day1 + 9 * HOUR + 30 * 60_000)).toEqual([`budget:user:u-daily:${day0}:10000000:50`, `budget:user:u-daily:${day0}:10000000:80`])
  })
