/**
 * The alert watch reads only the rows past the lowest threshold (usersOver / keysOver, in whole basis points)
 * and then judges each with the exact threshold (AlertWatch.crossed), so the basis points are rounded down:
 * with `thresholds: [66.666, 100]` the pre-filter reads from 66.66 %, and a user that has spent 66.667 % of
 * its budget (past 66.666 %) is alerted. Rounded up (66.67 %) it would never be read.
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
  const path = join(dir, 'tollgate.db')
  store = await openTestStore(path)
})
afterEach(async () => {
  await store.close()
  rmSync(dir, { recursive: true, force: true })
})

test('a user past a threshold of 66.666 % (at 66.667 %) is alerted', async () => {
  const settings = configSchema.parse({ master_key: MASTER_KEY, alerts: { thresholds: [66.666, 100] } }).alerts
  const now = Date.now()
  // $1.50 budget, $1.00 spent: 66.6667 % >= 66.666 %.
  await store.db.insert(store.tables.users).values({ id: 'two-thirds', maxBudget: 1_500_000, spend: 1_000_000, budgetPeriod: null, periodStart: 0, createdAt: now, updatedAt: now })
  const outbox = new AlertOutbox(store.alerts, [])
  const written: string[] = []
  await new AlertWatch(store.alerts, settings).check(async (a) => {
    if (await outbox.raise(a, now)) written.push(a.dedupeKey)
  }, now)
  expect(written).toEqual(['budget:user:two-thirds:0:1500000:66.666'])
})
