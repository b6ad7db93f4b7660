/**
 * The alert outbox and its deliveries were never pruned: a long-lived install grew them forever (an alert per
 * unpriced model per interval, per expired-holds sweep, per user and period crossing a threshold). The audit
 * retention's job, the one that prunes the request log, now deletes the alerts older than the retention that are
 * done with: none of their deliveries still pending (a delivery inside its retry window is kept), and their row no
 * longer needed to keep a check from raising them again (a lifetime budget's threshold is raised once, ever).
 * In batches. Runs on both stores (test/engines/stores.engine.ts).
 */
import { expect, test } from 'bun:test'
import { AlertOutbox } from '../src/alerts/outbox'
import { AlertWatch } from '../src/alerts/watch'
import { configSchema } from '../src/config/schema'
import { MAINTENANCE_BATCH } from '../src/db/maintenance'
import { RequestLog } from '../src/records/request-log'
import { MASTER_KEY } from './support/gateway'
import { alertStoreEachTest } from './support/alert-store'
import { done, holdFor } from './support/ledger-contract'

const DAY = 86_400_000
const RETENTION_DAYS = 30
const NOW = Date.now()
const OLD = NOW - 40 * DAY

const opened = alertStoreEachTest({ id: 'u-lifetime', maxBudget: 10_000_000, budgetPeriod: null, periodStart: 0, createdAt: OLD, updatedAt: OLD })

/** The audit retention's job, as the gateway runs it (hourly, and once at startup). */
async function auditRetentionRuns(): Promise<void> {
  const log = new RequestLog(opened.store, RETENTION_DAYS)
  try {
    await log.pruneOld(NOW)
  } finally {
    log.stop()
  }
}

const alertKeys = async () =>
  ((await (opened.store.db as any).select().from(opened.store.tables.alerts)) as { dedupeKey: string }[]).map((a) => a.dedupeKey).sort()
const deliveries = async () => ((await (opened.store.db as any).select().from(opened.store.tables.alertDeliveries)) as unknown[]).length

test('delivered and given-up alerts past the retention go, with their deliveries; pending, recent and still raisable ones stay', async () => {
  const { outbox: bare, store } = opened
  const outbox = new AlertOutbox(store.alerts, ['ops'])
  const raise = (dedupeKey: string, at: number, dedupeUntil: number | null) =>
    outbox.raise({ dedupeKey, kind: 'unpriced_model', subject: null, text: dedupeKey, data: {}, dedupeUntil }, at)
  /** The one delivery due at `at`, claimed. */
  const claim = async (at: number) => {
    const [d] = await outbox.claimDue('ops', at, 1_000, 1)
    return d!
  }

  await raise('old-delivered', OLD, OLD)
  await outbox.delivered(await claim(OLD), OLD + 1)
  await raise('old-failed', OLD + 10, OLD + 10)
  await outbox.attemptFailed(await claim(OLD + 10), 'HTTP 500', null)
  await raise('old-still-retried', OLD + 20, OLD + 20)
  await outbox.attemptFailed(await claim(OLD + 20), 'HTTP 500', NOW + 5_000)
  await raise('old-raisable-for-ever', OLD + 30, null)
  await outbox.delivered(await claim(OLD + 30), OLD + 31)
  await raise('old-raisable-till-tomorrow', OLD + 40, NOW + DAY)
  await outbox.delivered(await claim(OLD + 40), OLD + 41)
  await raise('recent-delivered', NOW - DAY, NOW - DAY)
  await outbox.delivered(await claim(NOW - DAY), NOW - DAY + 1)
  // Recorded with no webhook configured: nothing to deliver, nothing pending.
  await bare.raise({ dedupeKey: 'old-no-webhook', kind: 'holds_expired', subject: null, text: 'x', data: {}, dedupeUntil: OLD }, OLD)
  expect(await deliveries()).toBe(6)

  await auditRetentionRuns()

  expect(await alertKeys()).toEqual(['old-raisable-for-ever', 'old-raisable-till-tomorrow', 'old-still-retried', 'recent-delivered'])
  expect(await deliveries()).toBe(4)
  expect(await outbox.count('pending')).toBe(1)
})

test('more alerts than a batch all go, a batch at a time', async () => {
  const { store } = opened
  const rows = Array.from({ length: 2 * MAINTENANCE_BATCH + 500 }, (_, i) => ({
    id: `alt_old_${i}`, dedupeKey: `holds_expired:${OLD + i}`, kind: 'holds_expired', subject: null, payload: '{}', createdAt: OLD + i, dedupeUntil: OLD + i,
  }))
  for (let i = 0; i < rows.length; i += 500) await (store.db as any).insert(store.tables.alerts).values(rows.slice(i, i + 500))
  // The store's prune alone: the job's run at startup, going alongside, would take some of the batches.
  const batches: number[] = []
  const pruned = await store.alerts.prune(NOW - RETENTION_DAYS * DAY, () => (batches.push(0), false))
  expect(pruned).toBe(rows.length)
  // Steps of MAINTENANCE_BATCH at most (on SQLite sized by their time, TimedSteps): three at least.
  expect(batches.length).toBeGreaterThanOrEqual(3)
  expect(await alertKeys()).toEqual([])
})

const settings = configSchema.parse({ master_key: MASTER_KEY, alerts: { thresholds: [80] } }).alerts
/** A check by a process that just started (nothing raised in its memory); the dedupe keys it wrote. */
async function restartedCheck(at: number): Promise<string[]> {
  const written: string[] = []
  await new AlertWatch(opened.store.alerts, settings).check(async (a) => void ((await opened.outbox.raise(a, at)) && written.push(a.dedupeKey)), at)
  return written
}
const spend = async (user: string, micros: number, at: number) => {
  const hold = await opened.ledger.reserve(holdFor(user, micros), at)
  hold.settle(done(micros), at)
  await opened.ledger.flush()
}

test("a lifetime budget's threshold alert outlives the retention, so a restarted process does not raise it again", async () => {
  await spend('u-lifetime', 9_000_000, OLD)
  expect(await restartedCheck(OLD)).toEqual(['budget:user:u-lifetime:0:10000000:80'])

  await auditRetentionRuns()

  expect(await alertKeys()).toEqual(['budget:user:u-lifetime:0:10000000:80'])
  expect(await restartedCheck(NOW)).toEqual([])
})

test("a daily budget's threshold alert goes once its day and the next have passed", async () => {
  const { store } = opened
  const day = OLD - (OLD % DAY)
  await (store.db as any).insert(store.tables.users).values({ id: 'u-daily', maxBudget: 10_000_000, budgetPeriod: 'daily', periodStart: day, createdAt: OLD, updatedAt: OLD })
  await spend('u-daily', 9_000_000, OLD)
  expect(await restartedCheck(OLD)).toEqual([`budget:user:u-daily:${day}:10000000:80`])

  await auditRetentionRuns()

  expect(await alertKeys()).toEqual([])
})
