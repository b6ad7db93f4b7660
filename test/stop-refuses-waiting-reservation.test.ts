import { afterEach, expect, test } from 'bun:test'
import { Database } from 'bun:sqlite'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { Hold } from '../src/budget/hold'
import { Ledger } from '../src/budget/ledger'
import { openDatabase } from '../src/db/open'
import { users } from '../src/db/schema'
import { WriteQueue } from '../src/db/write-queue'
import { SqliteLedgerStore } from '../src/store/sqlite/ledger-store'
import { tempDir } from './support/gateway'
import { holdFor } from './support/ledger-contract'

/**
 * On SQLite, a reservation still queued when the store closes (its commit found the file locked by another
 * process, and it waits for the next try) is refused by the close with 503 gateway_stopping, as Postgres
 * refuses holds once its close has begun. The close used to commit it and tell its caller "held"; the stop had
 * already cut the calls, so the caller released the hold, but the queue was closed by then and dropped the
 * release: the hold stayed on disk for the next start's sweeper to charge in full, for a request no provider
 * received.
 */
const cleanup: Array<() => unknown> = []
afterEach(() => {
  for (const step of cleanup.reverse()) step()
  cleanup.length = 0
})

test('a reservation still waiting for another process\'s lock at the stop is refused by the close, not committed for the sweeper to charge', async () => {
  const dir = tempDir()
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'ledger.db')
  const db = openDatabase(file)
  const errors: unknown[] = []
  const writes = new WriteQueue(db.$client, (e) => errors.push(e))
  const ledger = new Ledger(new SqliteLedgerStore(db.$client, writes), 60_000)
  const now = Date.now()
  db.insert(users).values({ id: 'u', maxBudget: null, budgetPeriod: null, periodStart: 0, createdAt: now, updatedAt: now }).run()
  db.$client.exec('PRAGMA busy_timeout = 0')

  const other = new Database(file)
  other.exec('BEGIN IMMEDIATE') // another process (a sibling worker, a backup) holds the write lock
  const asked = ledger.reserve(holdFor('u', 5_000)).then(
    (hold) => hold,
    (error: unknown) => error,
  )
  await Bun.sleep(100) // its commits find the file locked; it waits for the next try (up to the busy timeout)
  ledger.cutCalls() // the stop's grace is over
  other.exec('ROLLBACK') // the lock is free as the store closes
  other.close()
  writes.close() // SqliteStore.close()
  const got = await asked
  expect(got).toMatchObject({ status: 503, code: 'gateway_stopping' })
  // The caller acts as callUpstream does once the calls are cut: nothing is sent, the hold is released.
  if (got instanceof Hold) got.release(1)
  db.$client.close()

  const after = new Database(file, { readonly: true })
  const held = after.query('SELECT COUNT(*) AS n, COALESCE(SUM(amount), 0) AS amount FROM reservations').get()
  const { reserved } = after.query("SELECT reserved FROM users WHERE id = 'u'").get() as { reserved: number }
  after.close()
  // Nothing left for the sweeper (the close used to commit the hold, 5000, and drop its release).
  expect({ held, reserved }).toEqual({ held: { n: 0, amount: 0 }, reserved: 0 })
})
