/**
 * An alert check reads `now` once, when it starts, and judges the unpriced refusals only after its other parts
 * (users, keys, expiring keys, whose pages may be slow). A refusal that arrives meanwhile, past the interval's end,
 * rolls the counts forward and keeps the ended interval's to be raised. The check's stale `now` must not roll them
 * back: that overwrote the ended interval's counts with the new one's, and a model refused in an interval's last
 * check interval, the next check straddling the hour, was never alerted (SPEC: every refusal of an unpriced model
 * is alerted, bounded per interval).
 */
import { expect, test } from 'bun:test'
import type { NewAlert } from '../src/alerts/outbox'
import { AlertWatch } from '../src/alerts/watch'
import { configSchema } from '../src/config/schema'
import type { AlertRows } from '../src/store/store'
import { MASTER_KEY } from './support/gateway'

const HOUR = 3_600_000
const settings = configSchema.parse({
  master_key: MASTER_KEY,
  alerts: { unpriced_interval_ms: HOUR, check_interval_ms: 15_000, thresholds: [80] },
}).alerts
const hour0 = Date.UTC(2026, 11, 1, 10)

test('a refusal that comes while a check straddling the hour reads its pages does not lose the ended hour’s refusals', async () => {
  // The users' part reads a page slowly (a large install, a busy database): the check is still under way at 11:00:01.
  let releasePage!: () => void
  const pageRead = new Promise<void>((resolve) => (releasePage = resolve))
  let slow = false
  const rows = {
    usersOver: async () => {
      if (slow) await pageRead
      return []
    },
    rolledUsersOver: async () => [],
    keysOver: async () => [],
    expiringKeys: async () => [],
  } as unknown as AlertRows
  const watch = new AlertWatch(rows, settings)
  const raised: NewAlert[] = []
  const raise = async (a: NewAlert) => void raised.push(a)

  await watch.check(raise, hour0 + HOUR - 20_000) // 10:59:40: nothing refused yet
  watch.noteUnpriced('mock:gpt-late', hour0 + HOUR - 5_000) // 10:59:55: refused in the hour's last check interval
  slow = true
  const straddling = watch.check(raise, hour0 + HOUR - 1_000) // 10:59:59: the next check begins
  await Bun.sleep(10)
  watch.noteUnpriced('mock:gpt-next', hour0 + HOUR + 1_000) // 11:00:01: another refusal while it runs
  releasePage()
  await straddling
  slow = false
  await watch.check(raise, hour0 + HOUR + 14_000) // 11:00:14
  await watch.check(raise, hour0 + HOUR + 29_000) // 11:00:29

  const subjects = [...new Set(raised.map((a) => a.subject))].sort()
  expect(subjects).toEqual(['mock:gpt-late', 'mock:gpt-next'])
  expect(raised.find((a) => a.subject === 'mock:gpt-late')?.dedupeKey).toBe(`unpriced:mock:gpt-late:${hour0}`)
})
