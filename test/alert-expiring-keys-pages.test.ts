/**
 * The keys about to expire are read a page at a time by (expires_at, id) (AlertRows.expiringKeys): every live key
 * in the window is judged once, those sharing an expiry across a page's end too, and none outside it (revoked,
 * expiring past the window, or expired). Runs on both stores (test/engines/stores.engine.ts).
 */
import { expect, test } from 'bun:test'
import { AlertWatch } from '../src/alerts/watch'
import { configSchema } from '../src/config/schema'
import { MASTER_KEY } from './support/gateway'
import { alertStoreEachTest } from './support/alert-store'

const DAY = 86_400_000
const now = Date.UTC(2026, 11, 1)
const settings = configSchema.parse({ master_key: MASTER_KEY, alerts: { thresholds: [], key_expiry_days: 7 } }).alerts
const opened = alertStoreEachTest({ id: 'platform', periodStart: now, createdAt: now, updatedAt: now })

test('an alert check raises one expiry alert for each live key expiring within the window, whatever the pages', async () => {
  const { store } = opened
  const key = (i: number, expiresAt: number, revokedAt: number | null = null) => ({
    id: `key_${String(i).padStart(5, '0')}`, userId: 'platform', keyHash: `hash-${i}`, keyPrefix: 'tg-abcd', expiresAt, revokedAt, createdAt: now, updatedAt: now,
  })
  // 1,250 keys in groups of 400 sharing one expiry, their ids descending as the expiries rise (a page is 500: the
  // groups straddle the pages' ends); besides, one revoked, one expiring past the window, one expired.
  const inWindow = Array.from({ length: 1_250 }, (_, i) => key(2_000 - i, now + DAY + Math.floor(i / 400) * 1_000))
  const outside = [key(1, now + DAY, now - 1), key(2, now + 8 * DAY), key(3, now)]
  for (let i = 0; i < inWindow.length; i += 250) await store.db.insert(store.tables.apiKeys).values(inWindow.slice(i, i + 250))
  await store.db.insert(store.tables.apiKeys).values(outside)

  const raised: string[] = []
  await new AlertWatch(store.alerts, settings).check(async (a) => void raised.push(a.subject!), now)
  expect(raised.sort()).toEqual(inWindow.map((k) => k.id).sort())
})
