/**
 * For alert suites that drive the watch without a gateway: each test gets a store of its own (SQLite, or
 * Postgres when the suites run there), a ledger and an outbox on it, and one user row, closed after the test.
 */
import { afterEach, beforeEach } from 'bun:test'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { AlertOutbox } from '../../src/alerts/outbox'
import { Ledger } from '../../src/budget/ledger'
import type * as sqliteTables from '../../src/db/schema'
import type { Store } from '../../src/store/store'
import { tempDir } from './gateway'
import { openTestStore } from './test-store'

export interface AlertStore {
  store: Store
  ledger: Ledger
  outbox: AlertOutbox
}

/** Registers the hooks; the returned object holds the current test's store, ledger and outbox. */
export function alertStoreEachTest(user: typeof sqliteTables.users.$inferInsert): AlertStore {
  const current = {} as AlertStore & { dir: string }
  beforeEach(async () => {
    current.dir = tempDir()
    current.store = await openTestStore(join(current.dir, 'tollgate.db'))
    current.ledger = new Ledger(current.store.ledger, 60_000)
    current.outbox = new AlertOutbox(current.store.alerts, [])
    await current.store.db.insert(current.store.tables.users).values(user)
  })
  afterEach(async () => {
    await current.store.close()
    rmSync(current.dir, { recursive: true, force: true })
  })
  return current
}
