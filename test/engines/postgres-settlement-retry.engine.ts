/**
 * A settlement Postgres does not answer within its deadline is waited for before it is sent again, never
 * sent beside itself: each retry beside a stuck one would take another connection (and Postgres's
 * max_connections is every replica's). The settlement transactions therefore run on the client without
 * the per-query deadline proxy, whose promise rejects at the deadline while the transaction still waits.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'bun:test'
import { SQL } from 'bun'
import { Ledger } from '../../src/budget/ledger'
import { PostgresStore } from '../../src/store/postgres/store'
import { done, holdFor } from '../support/ledger-contract'
import { startPostgres, type TestPostgres } from './support/postgres'

let pg: TestPostgres
let n = 0
beforeAll(async () => {
  pg = await startPostgres()
})
afterAll(async () => {
  await pg?.destroy()
})

describe('Postgres ledger: a settlement the database does not answer in time', () => {
  const DEADLINE = 300
  let store: PostgresStore
  let ledger: Ledger
  let other: SQL
  beforeEach(async () => {
    const url = await pg.database(`settle_once_${++n}`)
    store = await PostgresStore.open(url, () => {}, DEADLINE)
    // Another process's session: the store's own end a transaction left idle past the deadline.
    other = new SQL(url)
    ledger = new Ledger(store.ledger, 60_000)
    const now = Date.now()
    await store.sql`INSERT INTO users (id, max_budget, period_start, created_at, updated_at) VALUES ('u', 1000, 0, ${now}, ${now})`
  })
  afterEach(async () => {
    await store.close()
    await other.close()
  })

  test('its retries wait for the transaction still in flight: never more than one settlement transaction at a time', async () => {
    const hold = await ledger.reserve(holdFor('u', 100))
    // Another session holds the user's row: the settlement's transaction waits on it (a stuck database).
    const blocker = await other.reserve()
    await blocker`BEGIN`
    await blocker`SELECT 1 FROM users WHERE id = 'u' FOR UPDATE`
    try {
      hold.settle(done(40))
      // Several deadlines and retries (retry every 500 ms).
      await Bun.sleep(DEADLINE * 12)
      const [{ waiting }] = await blocker`
        SELECT count(*)::int AS waiting FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'`
      expect(waiting).toBeLessThanOrEqual(1)
    } finally {
      await blocker`COMMIT`
      blocker.release()
    }
    await store.flush().catch(() => {})
  }, 30_000)

})
