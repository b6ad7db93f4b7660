/**
 * Refusals of an unpriced model are counted in memory per `unpriced_interval_ms` and raised by the next check
 * (src/alerts/watch.ts noteUnpriced / unpricedAlerts). When a new interval begins, the ended one's counts are
 * kept until a check has raised them under the ended interval's key: a model refused only in the last check
 * interval of an hour is alerted by the first check after it, even when a refusal in the new interval (which
 * rolls the counts) comes first.
 */
import { expect, test } from 'bun:test'
import type { NewAlert } from '../src/alerts/outbox'
import { AlertWatch } from '../src/alerts/watch'
import { configSchema } from '../src/config/schema'
import type { AlertRows } from '../src/store/store'
import { MASTER_KEY } from './support/gateway'

const HOUR = 3_600_000
const settings = configSchema.parse({ master_key: MASTER_KEY, alerts: { unpriced_interval_ms: HOUR, check_interval_ms: 15_000 } }).alerts
const rows = { usersOver: async () => [], rolledUsersOver: async () => [], keysOver: async () => [], expiringKeys: async () => [] } as unknown as AlertRows
const hour0 = Date.UTC(2026, 11, 1, 10)

test('a model refused in the last seconds of an interval is alerted by the first check after it', async () => {
  const watch = new AlertWatch(rows, settings)
  const raised: NewAlert[] = []
  const raise = async (a: NewAlert) => void raised.push(a)
  await watch.check(raise, hour0 + HOUR - 15_000) // 10:59:45: nothing refused yet
  watch.noteUnpriced('mock:gpt-new', hour0 + HOUR - 5_000) // 10:59:55: refused (402 pricing_required)
  await watch.check(raise, hour0 + HOUR + 10_000) // 11:00:10: the next check
  expect(raised.map((a) => a.subject)).toEqual(['mock:gpt-new'])
})

test('nor is it lost when another refusal in the new interval comes before that check', async () => {
  const watch = new AlertWatch(rows, settings)
  const raised: NewAlert[] = []
  const raise = async (a: NewAlert) => void raised.push(a)
  await watch.check(raise, hour0 + HOUR - 15_000)
  watch.noteUnpriced('mock:gpt-new', hour0 + HOUR - 5_000)
  watch.noteUnpriced('mock:gpt-other', hour0 + HOUR + 1_000)
  await watch.check(raise, hour0 + HOUR + 10_000)
  expect(raised.map((a) => a.subject).sort()).toEqual(['mock:gpt-new', 'mock:gpt-other'])
})

test("under the ended interval's key, and kept for the next check if it could not be written", async () => {
  const watch = new AlertWatch(rows, settings)
  watch.noteUnpriced('mock:gpt-new', hour0 + HOUR - 5_000)
  const failing = async () => {
    throw new Error('database_busy')
  }
  await expect(watch.check(failing, hour0 + HOUR + 10_000)).rejects.toThrow('database_busy')
  const raised: NewAlert[] = []
  await watch.check(async (a) => void raised.push(a), hour0 + HOUR + 25_000)
  expect(raised.map((a) => a.dedupeKey)).toEqual([`unpriced:mock:gpt-new:${hour0}`])
  // Raised, the ended interval is let go: a later check raises nothing more.
  raised.length = 0
  await watch.check(async (a) => void raised.push(a), hour0 + HOUR + 40_000)
  expect(raised).toEqual([])
})
