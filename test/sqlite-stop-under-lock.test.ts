import { afterEach, expect, test } from 'bun:test'
import { Database } from 'bun:sqlite'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { Ledger } from '../src/budget/ledger'
import { SqliteStore } from '../src/store/sqlite/store'
import { tempDir } from './support/gateway'
import { done, holdFor } from './support/ledger-contract'

/**
 * A stop on SQLite waits up to the busy timeout (5 s) for another process's write lock, then gives up on
 * what is still queued. It used to give up by throwing out of the store's close: the connection was never
 * closed and nothing said how many writes were lost. Now the stop ends, closed, saying how many it dropped.
 */
let cleanup: Array<() => unknown> = []
afterEach(() => {
  for (const step of cleanup.reverse()) step()
  cleanup = []
})

test('a write lock held past the busy timeout at the stop: the store closes, and says how many writes it dropped', async () => {
  const dir = tempDir()
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'stop.db')
  const errors: string[] = []
  const store = SqliteStore.open(file, (e) => errors.push(String(e)))
  const now = Date.now()
  await store.db.insert(store.tables.users).values({ id: 'u', maxBudget: null, budgetPeriod: null, periodStart: now, createdAt: now, updatedAt: now })
  const ledger = new Ledger(store.ledger, 60_000)
  const hold = await ledger.reserve(holdFor('u', 5_000))
  hold.settle(done(1_234))

  const other = new Database(file)
  cleanup.push(() => other.close())
  other.exec('BEGIN IMMEDIATE')
  cleanup.push(() => other.exec('ROLLBACK'))

  const closing = await store.close().then(
    () => 'closed',
    (error) => `threw ${String(error)}`,
  )
  expect(closing).toBe('closed')
  expect(errors.some((e) => /1 queued write\(s\) not written at the stop/.test(e))).toBe(true)
  // Its connection is closed: the store refuses to be used again.
  expect(() => store.db.$client.query('SELECT 1').get()).toThrow()
}, 20_000)
