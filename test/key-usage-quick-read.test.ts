/**
 * One key's latest usage is read in the quick lane (src/records/records-reader.ts), beside the reports rather than
 * behind them, because it is an index read: the key's page by usage_key_id, its totals from usage_daily_key. A page
 * with a time range, a model, a status or an offset may walk much of the key's history: that stays a scan.
 * Its answer on Postgres with a report scan waiting on a lock: test/engines/reports-burst-on-healthy-postgres.alone.engine.ts.
 */
import { expect, test } from 'bun:test'
import { isKeysLatestUsage } from '../src/records/usage-queries'

const page = { key_id: 'k1', limit: 100 }

test("a key's first page, and its next by cursor, are its latest usage", () => {
  expect(isKeysLatestUsage(page)).toBe(true)
  expect(isKeysLatestUsage({ ...page, after: 1234 })).toBe(true)
  expect(isKeysLatestUsage({ ...page, offset: 0 })).toBe(true)
})

test("a page under any other filter, a user's included, or past an offset, or of no one key, is not", () => {
  // The key may not be that user's: then no row matches, and the page would walk the whole index (see
  // test/user-usage-another-users-key.test.ts).
  expect(isKeysLatestUsage({ ...page, user_id: 'u1' })).toBe(false)
  expect(isKeysLatestUsage({ ...page, since: 0 })).toBe(false)
  expect(isKeysLatestUsage({ ...page, until: Date.now() })).toBe(false)
  expect(isKeysLatestUsage({ ...page, models: ['mock:m'] })).toBe(false)
  expect(isKeysLatestUsage({ ...page, status: 'error' })).toBe(false)
  expect(isKeysLatestUsage({ ...page, offset: 100 })).toBe(false)
  expect(isKeysLatestUsage({ user_id: 'u1', limit: 100 })).toBe(false)
})
