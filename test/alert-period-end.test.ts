/**
 * A budget threshold crossed by spend settled in the last check interval of a user's period (or before a
 * crash, the gateway starting again after the period's end) is alerted by the first check after the period
 * ended, against that period: whether the user's row still holds the period (no request since) or a request
 * in the new period has rolled it to spend 0 (the roll keeps the period's start and spend on the row). The
 * README: "a crossing is seen within check_interval_ms"; SPEC §12: nothing lost on restart. Runs on both
 * stores (test/engines/stores.engine.ts).
 */
import { beforeEach, describe, expect, test } from 'bun:test'
import type { AlertOutbox, NewAlert } from '../src/alerts/outbox'
import { AlertWatch } from '../src/alerts/watch'
import type { Ledger } from '../src/budget/ledger'
import { configSchema } from '../src/config/schema'
import type { AlertRows, Store, UserSpend } from '../src/store/store'
import { MASTER_KEY } from './support/gateway'
import { done, holdFor } from './support/ledger-contract'
import { alertStoreEachTest } from './support/alert-store'

const DAY = 86_400_000
const settings = configSchema.parse({ master_key: MASTER_KEY, alerts: { thresholds: [50, 80] } }).alerts
const day0 = Date.UTC(2026, 11, 1)
const day1 = day0 + DAY

test("a crossing settled just before the period's end is still alerted by the first check after it", async () => {
  // The stored row, as the settle left it: today's period, 40% spent.
  const users: UserSpend[] = [{ id: 'nightly-batch', max_budget: 1_000_000, budget_set_at: null, spend: 400_000, budget_period: 'daily', period_start: day0 }]
  const rows = { usersOver: async () => users, rolledUsersOver: async () => [], keysOver: async () => [], expiringKeys: async () => [] } as unknown as AlertRows
  const watch = new AlertWatch(rows, settings)
  const raised: NewAlert[] = []
  const raise = async (a: NewAlert) => void raised.push(a)

  await watch.check(raise, day0 + DAY - 15_000) // 23:59:45: nothing crossed yet
  expect(raised).toHaveLength(0)
  // 23:59:55: a settlement takes the day's spend to 90%. The next check (15 s later) runs at 00:00:10 of the
  // next day, before any request has rolled the stored period: the row still says 90% of day0's budget.
  users[0] = { ...users[0]!, spend: 900_000 }
  await watch.check(raise, day0 + DAY + 10_000)
  expect(raised.map((a) => a.dedupeKey).sort()).toEqual([
    `budget:user:nightly-batch:${day0}:1000000:50`,
    `budget:user:nightly-batch:${day0}:1000000:80`,
  ])
})

describe('on the store: the period just ended is judged as it ended', () => {
  let store: Store
  let ledger: Ledger
  let outbox: AlertOutbox
  const opened = alertStoreEachTest({ id: 'nightly', maxBudget: 1_000_000, budgetPeriod: 'daily', periodStart: day0, createdAt: day0, updatedAt: day0 })
  beforeEach(() => void ({ store, ledger, outbox } = opened))

  /** One request of `cost`, held and settled at `at`, as the gateway would. */
  const spend = async (cost: number, at: number) => {
    const hold = await ledger.reserve(holdFor('nightly', cost), at)
    hold.settle(done(cost), at)
    await ledger.flush()
  }
  /** A check at `at` writing into the outbox; returns the dedupe keys it wrote (not those already written). */
  const check = async (watch: AlertWatch, at: number) => {
    const written: string[] = []
    await watch.check(async (a) => {
      if (await outbox.raise(a, at)) written.push(a.dedupeKey)
    }, at)
    return written.sort()
  }
  const day0Keys = [`budget:user:nightly:${day0}:1000000:50`, `budget:user:nightly:${day0}:1000000:80`]

  test('crossed, then the period ends before the check: alerted against the period that ended', async () => {
    const watch = new AlertWatch(store.alerts, settings)
    await spend(400_000, day0 + DAY - 20_000)
    expect(await check(watch, day0 + DAY - 15_000)).toEqual([])
    await spend(500_000, day0 + DAY - 5_000)
    expect(await check(watch, day1 + 10_000)).toEqual(day0Keys)
  })

  test('crossed, then a request rolls the row to the new period before the check: still alerted', async () => {
    const watch = new AlertWatch(store.alerts, settings)
    await spend(400_000, day0 + DAY - 20_000)
    expect(await check(watch, day0 + DAY - 15_000)).toEqual([])
    await spend(500_000, day0 + DAY - 5_000)
    await spend(1_000, day1 + 5_000) // the row now holds day1: spend 1,000
    expect(await check(watch, day1 + 10_000)).toEqual(day0Keys)
  })

  test('a gateway killed before its check and started after the period ended alerts what was crossed', async () => {
    await check(new AlertWatch(store.alerts, settings), day0 + DAY - 15_000)
    await spend(900_000, day0 + DAY - 5_000)
    // kill -9 here; the first request after midnight rolls the row before the new process's first check.
    await spend(1_000, day1 + 60_000)
    expect(await check(new AlertWatch(store.alerts, settings), day1 + 120_000)).toEqual(day0Keys)
  })

  test('nothing crossed in the period that ended: no alert, and spend of the period before it does not count', async () => {
    const watch = new AlertWatch(store.alerts, settings)
    await store.db.update(store.tables.users).set({ periodStart: day0 - DAY })
    await spend(600_000, day0 - 60_000) // the day before day0: its 60% is alerted by the first check (see above)
    expect(await check(watch, day0 + 1_000)).toEqual([`budget:user:nightly:${day0 - DAY}:1000000:50`])
    await spend(400_000, day0 + DAY - 5_000)
    await spend(1_000, day1 + 5_000)
    expect(await check(watch, day1 + 10_000)).toEqual([])
    expect(await check(watch, day1 + 20_000)).toEqual([])
  })

  test("a monthly period's spend is summed over its days", async () => {
    const nov1 = Date.UTC(2026, 10, 1)
    await store.db.insert(store.tables.users).values({ id: 'team', maxBudget: 1_000_000, budgetPeriod: 'monthly', periodStart: nov1, createdAt: nov1, updatedAt: nov1 })
    const spendOf = async (cost: number, at: number) => {
      const hold = await ledger.reserve(holdFor('team', cost), at)
      hold.settle(done(cost), at)
      await ledger.flush()
    }
    const watch = new AlertWatch(store.alerts, settings)
    await spendOf(300_000, nov1 + 2 * DAY)
    await spendOf(150_000, day0 - 20_000)
    expect(await check(watch, day0 - 15_000)).toEqual([])
    await spendOf(150_000, day0 - 5_000) // 60% of November's budget, on three days
    await spendOf(1_000, day0 + 5_000) // December has begun
    expect(await check(watch, day0 + 10_000)).toEqual([`budget:user:team:${nov1}:1000000:50`])
  })

  test('the ended period is alerted once; the new period arms the thresholds again', async () => {
    const watch = new AlertWatch(store.alerts, settings)
    await check(watch, day0 + DAY - 15_000)
    await spend(900_000, day0 + DAY - 5_000)
    expect(await check(watch, day1 + 10_000)).toEqual(day0Keys) // the row still holds day0
    await spend(1_000, day1 + 15_000) // now rolled
    expect(await check(watch, day1 + 20_000)).toEqual([])
    // Another process (or a restart) looking back at day0 finds it written.
    expect(await check(new AlertWatch(store.alerts, settings), day1 + 25_000)).toEqual([])
    await spend(600_000, day1 + 30_000)
    expect(await check(watch, day1 + 40_000)).toEqual([`budget:user:nightly:${day1}:1000000:50`])
    expect(await check(watch, day1 + 50_000)).toEqual([])
    const stored = await store.db.select().from(store.tables.alerts)
    expect(stored.map((a) => a.dedupeKey).sort()).toEqual([...day0Keys, `budget:user:nightly:${day1}:1000000:50`])
  })
})
