/**
 * Mutation guard: a period budget's threshold alert is kept (alerts.dedupe_until) until "its period
 * and the next have ended" (README, "Kept"), because a check judges an ended period while the next runs (the first
 * check after a restart looks back at it). With the window cut to the period's own end, the retention prune
 * (TOLLGATE_AUDIT_RETENTION_DAYS=1 here) deletes the alert during the next week, and a restarted process's first
 * check, judging the ended week again, alerts the same threshold a second time.
 */
import { afterEach, beforeEach, expect, test } from 'bun:test'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { AlertOutbox } from '../src/alerts/outbox'
import { AlertWatch } from '../src/alerts/watch'
import { periodStart } from '../src/budget/period'
import { configSchema } from '../src/config/schema'
import type { Store } from '../src/store/store'
import { MASTER_KEY, tempDir } from './support/gateway'
import { openTestStore } from './support/test-store'

const DAY = 86_400_000
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

test("a weekly budget's threshold alerted in its week is not alerted again by a restart's check in the next week after a prune", async () => {
  const settings = configSchema.parse({ master_key: MASTER_KEY, alerts: { thresholds: [80] } }).alerts
  const week = periodStart('weekly', Date.UTC(2026, 9, 14, 12))
  const raisedAt = week + 3 * DAY
  await store.db
    .insert(store.tables.users)
    .values({ id: 'weekly', maxBudget: 10_000_000, spend: 9_000_000, budgetPeriod: 'weekly', periodStart: week, createdAt: week - DAY, updatedAt: week - DAY })
  const outbox = new AlertOutbox(store.alerts, [])
  const run = async (now: number) => {
    const written: string[] = []
    await new AlertWatch(store.alerts, settings).check(async (a) => {
      if (await outbox.raise(a, now)) written.push(a.dedupeKey)
    }, now)
    return written
  }
  expect(await run(raisedAt)).toEqual([`budget:user:weekly:${week}:10000000:80`])

  // A day and a half into the next week, with one day of retention: the prune runs hourly, then the process restarts.
  const restartAt = week + 7 * DAY + 1.5 * DAY
  await store.alerts.prune(restartAt - 1 * DAY, () => false)
  // No request rolled the user's row: it still holds the ended week, which the restarted process's first check judges.
  expect(await run(restartAt)).toEqual([])
})
