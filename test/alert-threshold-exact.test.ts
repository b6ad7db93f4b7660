/**
 * Mutation guard: a threshold is crossed when spend reaches it ("spend crosses a threshold", the
 * 100 % alert being the budget spent). A user at exactly 80 % of its budget, and one at exactly 100 % (a budget
 * spent to the last micro-dollar, refused from then on), must be alerted; `spend * 100 > max * t` in
 * AlertWatch.crossed passed every other suite (none sits exactly on a threshold) and silenced both.
 */
import { afterEach, beforeEach, expect, test } from 'bun:test'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { AlertOutbox } from '../src/alerts/outbox'
import { AlertWatch } from '../src/alerts/watch'
import { configSchema } from '../src/config/schema'
import type { Store } from '../src/store/store'
import { MASTER_KEY, tempDir } from './support/gateway'
import { openTestStore } from './support/test-store'

let dir: string
let store: Store
beforeEach(async () => {
  dir = tempDir()
  store = await openTestStore(join(dir, 'tollgate.db'))
})
afterEach(async () => {
  await store.close()
  rmSync(dir, { recursive: true, force: true })
})

test('a user exactly at a threshold (80 % and 100 % of its budget) is alerted', async () => {
  const settings = configSchema.parse({ master_key: MASTER_KEY, alerts: { thresholds: [50, 80, 100] } }).alerts
  const now = Date.now()
  const user = (id: string, spend: number) =>
    store.db.insert(store.tables.users).values({ id, maxBudget: 10_000_000, spend, budgetPeriod: null, periodStart: 0, createdAt: now, updatedAt: now })
  await user('at-80', 8_000_000)
  await user('at-100', 10_000_000)
  const outbox = new AlertOutbox(store.alerts, [])
  const written: string[] = []
  await new AlertWatch(store.alerts, settings).check(async (a) => {
    if (await outbox.raise(a, now)) written.push(a.dedupeKey)
  }, now)
  expect(written.sort()).toEqual([
    'budget:user:at-100:0:10000000:100',
    'budget:user:at-100:0:10000000:50',
    'budget:user:at-100:0:10000000:80',
    'budget:user:at-80:0:10000000:50',
    'budget:user:at-80:0:10000000:80',
  ])
})
