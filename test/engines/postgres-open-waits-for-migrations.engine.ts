/**
 * Mutation guard (src/store/postgres/store.ts PostgresStore.open): "A replica waits for another's migrations, and
 * they for the transactions in flight, as long as that takes." The pool's sessions carry `lock_timeout` = the database
 * deadline (sessionBounds), and an advisory lock wait obeys it: open sets `lock_timeout = 0` first. Replicas started
 * together while the first one's migrations run longer than the deadline (a backfill of a large `usage`) must all
 * start, not refuse to with "refused the schema's migrations" (55P03). The existing guards only ever open beside
 * migrations that end within the deadline.
 *
 * Kills: dropping ``await conn`SET lock_timeout = 0` `` in PostgresStore.open.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { PostgresStore } from '../../src/store/postgres/store'
import { startPostgres, type TestPostgres } from './support/postgres'

const DEADLINE = 300
let pg: TestPostgres
beforeAll(async () => {
  pg = await startPostgres()
}, 60_000)
afterAll(async () => {
  await pg?.destroy()
})

test("a replica opening while another's migrations hold the lock past the deadline waits for them and opens", async () => {
  const url = await pg.database('pg_guard_open_waits')
  const other = new Bun.SQL(url, { max: 1 })
  const conn = await other.reserve()
  // Another replica is migrating: it holds the replicas' migration lock for several deadlines.
  await conn`SELECT pg_advisory_lock(7201400)`
  setTimeout(() => void conn`SELECT pg_advisory_unlock(7201400)`.then(() => conn.release()), DEADLINE * 5)
  const started = performance.now()
  const opened = await PostgresStore.open(url, () => {}, DEADLINE).then(
    (store) => store,
    (error) => String((error as Error).message),
  )
  try {
    expect(typeof opened === 'string' ? opened : 'opened').toBe('opened')
    expect(performance.now() - started).toBeGreaterThan(DEADLINE * 4)
  } finally {
    if (typeof opened !== 'string') await opened.close()
    await other.close()
  }
}, 60_000)
