import { expect, test } from 'bun:test'
import type { NewAlert } from '../src/alerts/outbox'
import { AlertWatch } from '../src/alerts/watch'
import { configSchema } from '../src/config/schema'
import type { AlertRows, UserSpend } from '../src/store/store'
import { MASTER_KEY } from './support/gateway'

/**
 * A long-running gateway remembers the budget alerts it has raised only while they are still crossed: a
 * user with a daily budget crosses its thresholds every day, and a year of them must not stay in memory.
 */
const DAY = 86_400_000

test('the dedupe keys of past periods are forgotten; a threshold is still raised once per period', async () => {
  const settings = configSchema.parse({ master_key: MASTER_KEY, alerts: { thresholds: [50, 80, 100] } }).alerts
  const users: UserSpend[] = []
  const rows = { usersOver: async () => users, rolledUsersOver: async () => [], keysOver: async () => [], expiringKeys: async () => [] } as unknown as AlertRows
  const watch = new AlertWatch(rows, settings)
  const raised: NewAlert[] = []
  const raise = async (a: NewAlert) => void raised.push(a)

  const day0 = Date.UTC(2026, 0, 1)
  for (let day = 0; day < 365; day++) {
    const now = day0 + day * DAY + 3_600_000
    users.length = 0
    // 100 users, each at 90% of its daily budget today.
    for (let u = 0; u < 100; u++) users.push({ id: `u${u}`, max_budget: 1_000, budget_set_at: null, spend: 900, budget_period: 'daily', period_start: day0 + day * DAY })
    await watch.check(raise, now)
    await watch.check(raise, now + 60_000)
    expect(raised.length).toBe((day + 1) * 100 * 2)
    expect(watch.remembered).toBe(100 * 2)
  }
})
