/**
 * A request-log batch whose COMMIT Postgres answered after the store's deadline (a loaded machine: a four-worker
 * engines run) was counted as dropped and logged "request-log rows are being dropped", though the COMMIT then landed
 * and every row was written: a false alarm, and tollgate_log_rows_dropped_total counting rows that were kept. Such a
 * COMMIT is now waited for a while longer: landed, it is a write done. One that never lands (its session ended
 * mid-COMMIT) is still given up, counted and not sent again, since no one can know whether it landed.
 *
 * And a session Postgres ended for idling in its transaction (idle_in_transaction_session_timeout, 25P03) while the
 * process was starved between its last statement and its COMMIT: that COMMIT never reached Postgres, yet the write
 * counted as failed after it, so its rows were dropped (the four-worker run's "request-log rows are being dropped",
 * printed after no deadline error). Such a failure is now one before the COMMIT: sent again.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { SQL } from 'bun'
import { failedBeforeCommit, writeNotingCommit } from '../../src/store/postgres/batch'
import { PostgresStore } from '../../src/store/postgres/store'
import { waitFor } from '../support/wait-for'
import { startPostgres, type TestPostgres } from './support/postgres'

let pg: TestPostgres
beforeAll(async () => {
  pg = await startPostgres()
})
afterAll(async () => {
  await pg?.destroy()
})

const DEADLINE_MS = 1_000

/** A log row (the writer sends what it has a few milliseconds at a time: one row, one batch). */
const entry = (requestId: string) => ({
  createdAt: Date.now(), requestId, method: 'POST', route: '/v1/chat/completions', status: 200, latencyMs: 3, clientIp: '127.0.0.1', keyId: null, userId: null,
})

/**
 * The next COMMIT that carries a log row takes `seconds` longer (a deferred trigger runs at COMMIT), once: what a
 * slow fsync or synchronous replication does to a COMMIT.
 */
async function slowNextCommit(sql: SQL, seconds: number) {
  await sql.unsafe(`
    CREATE TABLE IF NOT EXISTS slow_commit (seconds float8 NOT NULL);
    CREATE OR REPLACE FUNCTION slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE s float8;
      BEGIN
        DELETE FROM slow_commit RETURNING seconds INTO s;
        IF s IS NOT NULL THEN PERFORM pg_sleep(s); END IF;
        RETURN NULL;
      END $$;
    DROP TRIGGER IF EXISTS slow_commit ON api_request_log;
    CREATE CONSTRAINT TRIGGER slow_commit AFTER INSERT ON api_request_log DEFERRABLE INITIALLY DEFERRED
      FOR EACH ROW EXECUTE FUNCTION slow_commit();`)
  await sql`INSERT INTO slow_commit VALUES (${seconds})`
}

async function storeWithErrors(name: string) {
  const url = await pg.database(name)
  const errors: string[] = []
  const store = await PostgresStore.open(url, (e) => errors.push(String((e as Error)?.message ?? e)), DEADLINE_MS)
  return { store, errors, sql: new SQL(url, { max: 1 }) }
}

test('a log row whose COMMIT lands after the deadline is written once, and not counted or logged as dropped', async () => {
  const { store, errors, sql } = await storeWithErrors('log_commit_late')
  try {
    await slowNextCommit(sql, (2 * DEADLINE_MS) / 1000)
    store.appendRequestLog(entry('late-commit'))
    await waitFor(10_000, async () => (await sql`SELECT count(*)::int AS n FROM slow_commit`)[0].n === 0)
    await store.flush()
    const rows = await sql`SELECT request_id FROM api_request_log WHERE request_id = 'late-commit'`
    expect({ rows: rows.length, dropped: store.droppedWhileUnwritable().logRows, errors }).toEqual({ rows: 1, dropped: 0, errors: [] })
  } finally {
    await sql.close()
    await store.close()
  }
}, 30_000)

test('a log row whose session ended during its COMMIT is given up, counted, and not sent again', async () => {
  const { store, errors, sql } = await storeWithErrors('log_commit_lost')
  try {
    await slowNextCommit(sql, 30)
    store.appendRequestLog(entry('lost-commit'))
    // The COMMIT is sleeping in the trigger: its session ended there, it never lands.
    await waitFor(10_000, async () => (await sql`SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE 'COMMIT%' AND wait_event = 'PgSleep'`)[0].n === 1)
    await Bun.sleep(DEADLINE_MS * 1.5)
    await sql`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'COMMIT%' AND wait_event = 'PgSleep'`
    await waitFor(10_000, () => store.droppedWhileUnwritable().logRows === 1)
    // The ended transaction's DELETE of the trigger's row was rolled back with it: later COMMITs run at once.
    await sql`DELETE FROM slow_commit`
    store.appendRequestLog(entry('after'))
    await store.flush()
    const rows = await sql`SELECT request_id FROM api_request_log ORDER BY id`
    expect(rows.map((r: { request_id: string }) => r.request_id)).toEqual(['after'])
    expect(errors.some((e) => e.includes('request-log rows are being dropped'))).toBe(true)
  } finally {
    await sql.close()
    await store.close()
  }
}, 30_000)

test('a write whose session Postgres ended idle before its COMMIT arrived failed before the COMMIT: nothing landed, and it is sent again', async () => {
  const url = await pg.database('log_commit_idle_ended')
  const sql = new SQL(url, { max: 1, connection: { idle_in_transaction_session_timeout: 300 } })
  const check = new SQL(url, { max: 1 })
  try {
    await check`CREATE TABLE written (n int)`
    const failure = await writeNotingCommit(sql, async (tx) => {
      await tx`INSERT INTO written VALUES (1)`
      // A starved process: its thread busy past the idle bound between the last statement and the COMMIT, so the
      // session's end is read only after the COMMIT was sent.
      const until = performance.now() + 600
      while (performance.now() < until);
    }).then(
      () => null,
      (error: unknown) => error,
    )
    expect({ sqlState: (failure as { errno?: string } | null)?.errno, beforeCommit: failedBeforeCommit(failure) }).toEqual({ sqlState: '25P03', beforeCommit: true })
    expect((await check`SELECT count(*)::int AS n FROM written`)[0].n).toBe(0)
  } finally {
    await check.close()
    await sql.close().catch(() => {})
  }
}, 30_000)
