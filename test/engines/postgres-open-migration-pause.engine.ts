/**
 * A replica's startup migrations on a starved host: the pool's sessions end a transaction left idle past the database
 * deadline (sessionBounds), and the migrations' transaction was one of them. A pause of the process between two of
 * its statements longer than a short deadline (here 300 ms; a throttled container, a machine at load ~10) made
 * Postgres end the migration, and the replica refused to start ("refused the schema's migrations: terminating
 * connection due to idle-in-transaction timeout"). The migrations now allow such gaps up to MIGRATION_IDLE_MS.
 *
 * The pause is made by a relay in front of Postgres that holds everything back from the moment Postgres says the
 * migrations' transaction has begun (its ReadyForQuery in state 'T'), for a second.
 */
import { expect, test } from 'bun:test'
import { PostgresStore } from '../../src/store/postgres/store'
import { postgresForFile } from './support/postgres-for-file'
import { startTcpRelay } from './support/tcp-relay'

const DEADLINE = 300
const PAUSE_MS = 1_000
/** ReadyForQuery ('Z', length 5) with the transaction status "in a transaction block" ('T'). */
const IN_TRANSACTION = Buffer.from([0x5a, 0, 0, 0, 5, 0x54])

const pg = postgresForFile()

test("a pause between two of the startup migrations' statements longer than the deadline does not end them", async () => {
  const url = await pg.database('open_migration_pause')
  let pausedAt = 0
  const relay = startTcpRelay(pg.port, {
    onServerChunk(chunk) {
      if (pausedAt > 0 || Buffer.from(chunk).indexOf(IN_TRANSACTION) < 0) return
      pausedAt = performance.now()
      relay.freeze() // this chunk too: the gateway's next statement waits for it
      setTimeout(() => relay.thaw(), PAUSE_MS)
    },
  })
  const opened = await PostgresStore.open(url.replace(`:${pg.port}/`, `:${relay.port}/`), () => {}, DEADLINE).then(
    (store) => store,
    (error) => String((error as Error).message),
  )
  try {
    expect({ paused: pausedAt > 0, opened: typeof opened === 'string' ? opened : 'opened' }).toEqual({ paused: true, opened: 'opened' })
    if (typeof opened === 'string') return
    // Migrated, and the sessions keep the deadline's bound on their own transactions.
    const [bound] = await opened.sql`SELECT current_setting('idle_in_transaction_session_timeout') AS ms, (SELECT count(*)::int FROM users) AS users`
    expect(bound).toEqual({ ms: `${DEADLINE}ms`, users: 0 })
  } finally {
    if (typeof opened !== 'string') await opened.close()
    relay.stop()
  }
}, 60_000)
