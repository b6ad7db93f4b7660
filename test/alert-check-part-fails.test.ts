/**
 * A check raises thresholds, key expiries and unpriced-model refusals from separate queries: one that fails
 * (here the users' pre-filter) keeps none of the others from raising what they found. The check then throws
 * the failure, for Alerts.check to log, and does not count as a check.
 */
import { expect, test } from 'bun:test'
import type { NewAlert } from '../src/alerts/outbox'
import { AlertWatch } from '../src/alerts/watch'
import { configSchema } from '../src/config/schema'
import type { AlertRows } from '../src/store/store'
import { MASTER_KEY } from './support/gateway'

const DAY = 86_400_000
const now = Date.UTC(2026, 11, 1, 12, 30)
const settings = configSchema.parse({ master_key: MASTER_KEY, alerts: { thresholds: [100], key_expiry_days: 7 } }).alerts

test('a query that fails keeps the other kinds of alert coming, and the failure is thrown to be logged', async () => {
  const rows = {
    usersOver: async () => {
      throw new Error('bigint out of range')
    },
    rolledUsersOver: async () => [],
    keysOver: async () => [{ id: 'key-spent', user_id: 'u', name: null, max_budget: 1_000_000, spend: 1_000_000 }],
    expiringKeys: async () => [{ id: 'key-old', user_id: 'u', name: null, expires_at: now + DAY }],
  } as unknown as AlertRows
  const watch = new AlertWatch(rows, settings)
  watch.noteUnpriced('mock:gpt-new', now - 1_000)
  const raised: string[] = []
  const failure = await watch.check(async (a: NewAlert) => void raised.push(a.dedupeKey), now).then(
    () => null,
    (error: Error) => error.message,
  )
  expect(failure).toBe('bigint out of range')
  expect(raised.sort()).toEqual(['budget:key:key-spent:1000000:100', `key_expiring:key-old:${now + DAY}`, `unpriced:mock:gpt-new:${now - (now % 3_600_000)}`])
})
