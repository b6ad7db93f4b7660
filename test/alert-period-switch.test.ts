/**
 * A budget period that was set mid-period (PATCH /v1/users/{id} budget_period: the route sets period_start =
 * now, spend = 0, "what was spent before no longer counts against it") began at that moment, not at the
 * calendar start. When it ends and a request rolls the user's row, the first check after the end judges it as
 * the roll kept it (its stored start and spend), not the calendar period summed from the usage rollups:
 *  - spend from the same day before the change does not count: no false threshold alert;
 *  - a threshold already alerted within the period (keyed by its stored start, the moment of the change) is not
 *    alerted again under the calendar start's key.
 * A settlement landing after the end rolls the row too, and one batch of them may span two ends (Postgres
 * settles a batch in one statement): the period that ended last is kept as settling them one by one leaves it.
 * Runs on both stores (test/engines/stores.engine.ts).
 */
import { beforeEach, describe, expect, test } from 'bun:test'
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
  /** What PATCH /v1/users/{id} {budget_period: 'daily'} writes (src/routes/admin/users.ts). */
  const switchToDaily = (at: number) =>
    store.db.update(store.tables.users).set({ budgetPeriod: 'daily', periodStart: at, spend: 0, updatedAt: at }).where(eq(store.tables.users.id, 'switcher'))

  test('spend from before the switch does not count toward the new period: no false alert when it ends', async () => {
    await spend(700_000, day0 + 8 * HOUR) // before the switch, under no period: no longer counts after it
    await switchToDaily(switchedAt)
    const watch = new AlertWatch(store.alerts, settings)
    expect(await check(watch, switchedAt + 1_000)).toEqual([])
    await spend(100_000, day0 + 20 * HOUR) // 10% of the new period's budget
    expect(await check(watch, day0 + 20 * HOUR + 10_000)).toEqual([])
    await spend(1_000, day1 + 5_000) // next day: rolls the row
    // The period [switchedAt, day1) spent 10%: nothing to alert.
    expect(await check(watch, day1 + 10_000)).toEqual([])
  })

  test('a threshold alerted within the period is not alerted again once it ended', async () => {
    await switchToDaily(switchedAt)
    const watch = new AlertWatch(store.alerts, settings)
    await spend(600_000, day0 + 20 * HOUR)
    expect(await check(watch, day0 + 20 * HOUR + 10_000)).toEqual([`budget:user:switcher:${switchedAt}:1000000:50`])
    await spend(1_000, day1 + 5_000) // rolls the row
    expect(await check(watch, day1 + 10_000)).toEqual([])
  })

  test('a hold taken before the end and settled after it rolls the row: the ended period is judged as it ended', async () => {
    await switchToDaily(switchedAt)
    const watch = new AlertWatch(store.alerts, settings)
    await spend(600_000, day0 + 20 * HOUR)
    expect(await check(watch, day0 + 20 * HOUR + 10_000)).toEqual([`budget:user:switcher:${switchedAt}:1000000:50`])
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
