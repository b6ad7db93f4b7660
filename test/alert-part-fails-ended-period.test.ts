/**
 * A check whose one part fails on every check (here the keys' pre-filter) still counts as having judged the
 * users' periods when the users' part succeeded: before, `lastCheck` was set only when every part did, so every
 * gate on "the first check after a period ended" (storedPeriodThresholds, periodsEndedSince) read null, and a
 * budget changed the next morning raised threshold alerts about yesterday judged against today's budget (as
 * test/alert-ended-period-new-budget.test.ts shows without a failing part).
 */
import { expect, test } from 'bun:test'
import type { NewAlert } from '../src/alerts/outbox'
import { AlertWatch } from '../src/alerts/watch'
import { configSchema } from '../src/config/schema'
import type { AlertRows, UserSpend } from '../src/store/store'
import { MASTER_KEY } from './support/gateway'

const DAY = 86_400_000
const HOUR = 3_600_000
const day0 = Date.UTC(2026, 11, 1)
const day1 = day0 + DAY
const settings = configSchema.parse({ master_key: MASTER_KEY, alerts: { thresholds: [50, 80, 100] } }).alerts

test('a part failing on every check does not make the users part re-judge an ended period with a budget set since', async () => {
  // The user's row still holds day 0 (no request since midnight): $9 spent.
  const user: UserSpend = { id: 'idle-today', max_budget: 10_000_000, budget_set_at: null, spend: 9_000_000, budget_period: 'daily', period_start: day0 }
  const rows = {
    usersOver: async () => [{ ...user }],
    rolledUsersOver: async () => [],
    keysOver: async () => {
      throw new Error('keys query failed')
    },
    expiringKeys: async () => [],
  } as unknown as AlertRows
  const watch = new AlertWatch(rows, settings)
  const outbox = new Set<string>()
  const check = async (at: number) => {
    const written: string[] = []
    await watch
      .check(async (a: NewAlert) => {
        if (!outbox.has(a.dedupeKey)) {
          outbox.add(a.dedupeKey)
          written.push(a.dedupeKey)
        }
      }, at)
      .catch(() => {}) // the keys part's failure, logged by Alerts.check
    return written.sort()
  }
  expect(await check(day0 + 20 * HOUR)).toEqual([`budget:user:idle-today:${day0}:10000000:50`, `budget:user:idle-today:${day0}:10000000:80`])
  expect(await check(day1 + 10_000)).toEqual([])
  // 09:00 on day 1, no request yet today: the operator sets the budget to $9.
  user.max_budget = 9_000_000
  // Nothing is crossed today ($0 spent), and day 0 was judged (under its budget) by the 00:00:10 check.
  expect(await check(day1 + 9 * HOUR + 10_000)).toEqual([])
})
