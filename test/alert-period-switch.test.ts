/**
 * A budget period set mid-period (PATCH /v1/users/{id} budget_period) is the new kind's calendar period under
 * way (src/routes/admin/users.ts), its spend what the usage rows dated in it cost (the store counts them). The
 * alerts judge it so, before and after it ends and a request rolls the user's row:
 *  - spend from before its calendar start does not count: no false threshold alert;
 *  - spend from earlier in it, before the change, counts, and a threshold it crosses is alerted under the
 *    calendar start's key, once: not again when the period has ended.
 * A settlement landing after the end rolls the row too, and one batch of them may span two ends (Postgres
 * settles a batch in one statement): the period that ended last is kept as settling them one by one leaves it.
 * Runs on both stores (test/engines/stores.engine.ts).
 */
import { beforeEach, describe, expect, test } from 'bun:test'
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
const settings = configSchema.parse({ master_key: MASTER_KEY, alerts: { thresholds: [50, 80] } }).alerts
const day0 = Date.UTC(2026, 11, 1)
const day1 = day0 + DAY
const switchedAt = day0 + 15 * HOUR

describe('a budget period set mid-period, then the period ends and a request rolls the row', () => {
  let store: Store
  let ledger: Ledger
  let outbox: AlertOutbox
  const opened = alertStoreEachTest({ id: 'switcher', maxBudget: 1_000_000, budgetPeriod: null, periodStart: day0 - 30 * DAY, createdAt: day0 - 30 * DAY, updatedAt: day0 - 30 * DAY })
  beforeEach(() => void ({ store, ledger, outbox } = opened))

  const spend = async (cost: number, at: number) => {
    const hold = await ledger.reserve(holdFor('switcher', cost), at)
    hold.settle(done(cost), at)
    await ledger.flush()
  }
  const check = async (watch: AlertWatch, at: number) => {
    const written: string[] = []
    await watch.check(async (a) => {
      if (await outbox.raise(a, at)) written.push(a.dedupeKey)
    }, at)
    return written.sort()
  }
  /** What PATCH /v1/users/{id} {budget_period: 'daily'} writes (src/routes/admin/users.ts): the day under way, its usage counted. */
  const switchToDaily = (at: number) => store.updateUser('switcher', { budgetPeriod: 'daily', updatedAt: at }, undefined, at)

  test('spend from before the calendar day does not count toward the new daily period, spend earlier in the day does', async () => {
    await spend(700_000, day0 - 2 * HOUR) // the day before, under no period: not in the new period
    await spend(100_000, day0 + 8 * HOUR) // this morning, under no period: in it
    expect((await switchToDaily(switchedAt))!.row.spend).toBe(100_000)
    const watch = new AlertWatch(store.alerts, settings)
    expect(await check(watch, switchedAt + 1_000)).toEqual([])
    await spend(350_000, day0 + 20 * HOUR) // 45% of the day's budget
    expect(await check(watch, day0 + 20 * HOUR + 10_000)).toEqual([])
    await spend(50_000, day0 + 21 * HOUR) // 50%
    expect(await check(watch, day0 + 21 * HOUR + 10_000)).toEqual([`budget:user:switcher:${day0}:1000000:50`])
    await spend(1_000, day1 + 5_000) // next day: rolls the row
    // The day ended at 50%, alerted already.
    expect(await check(watch, day1 + 10_000)).toEqual([])
  })

  test('a threshold alerted within the period is not alerted again once it ended', async () => {
    await switchToDaily(switchedAt)
    const watch = new AlertWatch(store.alerts, settings)
    await spend(600_000, day0 + 20 * HOUR)
    expect(await check(watch, day0 + 20 * HOUR + 10_000)).toEqual([`budget:user:switcher:${day0}:1000000:50`])
    await spend(1_000, day1 + 5_000) // rolls the row
    expect(await check(watch, day1 + 10_000)).toEqual([])
  })

  test('a hold taken before the end and settled after it rolls the row: the ended period is judged as it ended', async () => {
    await switchToDaily(switchedAt)
    const watch = new AlertWatch(store.alerts, settings)
    await spend(600_000, day0 + 20 * HOUR)
    expect(await check(watch, day0 + 20 * HOUR + 10_000)).toEqual([`budget:user:switcher:${day0}:1000000:50`])
    const hold = await ledger.reserve(holdFor('switcher', 300_000), day1 - 1_000)
    hold.settle(done(300_000), day1 + 1_000) // the cost counts in day1, and the settlement rolls the row
    await ledger.flush()
    // The ended period spent 60% (alerted already); day1 has 30%.
    expect(await check(watch, day1 + 10_000)).toEqual([])
    expect(await check(new AlertWatch(store.alerts, settings), day1 + 20_000)).toEqual([])
  })

  test('settlements spanning two ends keep the period between them, as settled one by one', async () => {
    await switchToDaily(switchedAt)
    const day2 = day1 + DAY
    const first = await ledger.reserve(holdFor('switcher', 600_000), day0 + 20 * HOUR)
    const second = await ledger.reserve(holdFor('switcher', 1_000), day0 + 20 * HOUR)
    first.settle(done(600_000), day1 + HOUR) // 60% of day1
    second.settle(done(1_000), day2 + 5_000) // rolls to day2
    await ledger.flush()
    // A gateway started on day2 judges each kind's last period: day1, at 60%.
    expect(await check(new AlertWatch(store.alerts, settings), day2 + 10_000)).toEqual([`budget:user:switcher:${day1}:1000000:50`])
  })
})
