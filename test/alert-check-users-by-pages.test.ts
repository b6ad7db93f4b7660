import { expect, test } from 'bun:test'
import type { NewAlert } from '../src/alerts/outbox'
import { AlertWatch } from '../src/alerts/watch'
import { configSchema } from '../src/config/schema'
import type { AlertRows, KeySpend, UserSpend } from '../src/store/store'
import { MASTER_KEY } from './support/gateway'

/**
 * The alert check reads the users and keys over a threshold a page at a time, by id, yielding to requests between
 * pages: read at once, 10,000 users were one statement of some 40 ms on the request thread.
 */

/**
 * A read by pages as the stores answer it, noting each page's size and whether requests had a turn before it. Each
 * page costs 5 ms of the thread, as a page of a large table does: steps cheaper than the maintenance slice (4 ms) may
 * share one turn, a page that costs a slice is followed by a turn for requests.
 */
function pagedRead<T extends { id: string }>(rows: T[], pages: Array<{ size: number; afterATurn: boolean }>) {
  let turned = true
  return async (_basisPoints: number, after: string, limit: number): Promise<T[]> => {
    const page = rows.filter((r) => r.id > after).slice(0, limit)
    for (const until = performance.now() + 5; performance.now() < until; );
    pages.push({ size: page.length, afterATurn: turned })
    turned = false
    setImmediate(() => (turned = true))
    return page
  }
}

test('the users and keys over a threshold are read a page at a time, requests answered between pages, each judged', async () => {
  const settings = configSchema.parse({ master_key: MASTER_KEY, alerts: { thresholds: [100] } }).alerts
  const id = (prefix: string, i: number) => `${prefix}-${String(i).padStart(5, '0')}`
  const users: UserSpend[] = Array.from({ length: 1_234 }, (_, i) => ({ id: id('u', i), max_budget: 1_000, budget_set_at: null, spend: 1_000, budget_period: null, period_start: 0 }))
  const keys: KeySpend[] = Array.from({ length: 1_100 }, (_, i) => ({ id: id('k', i), user_id: 'u', name: null, max_budget: 1_000, budget_set_at: null, spend: 1_000 }))
  const userPages: Array<{ size: number; afterATurn: boolean }> = []
  const keyPages: Array<{ size: number; afterATurn: boolean }> = []
  const rows = {
    usersOver: pagedRead(users, userPages),
    rolledUsersOver: async () => [],
    keysOver: pagedRead(keys, keyPages),
    expiringKeys: async () => [],
  } as unknown as AlertRows
  const raised: NewAlert[] = []
  await new AlertWatch(rows, settings).check(async (a) => void raised.push(a))

  expect(userPages).toEqual([
    { size: 500, afterATurn: true },
    { size: 500, afterATurn: true },
    { size: 234, afterATurn: true },
  ])
  expect(keyPages.map((p) => p.size)).toEqual([500, 500, 100])
  expect(keyPages.every((p) => p.afterATurn)).toBe(true)
  expect(new Set(raised.map((a) => a.subject)).size).toBe(users.length + keys.length)
})
