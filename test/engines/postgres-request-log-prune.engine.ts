/**
 * The request log's prune on the Postgres store deletes in batches of MAINTENANCE_BATCH rows, each its own short
 * statement, and ends between batches once the gateway is stopping, as on SQLite (test/server.test.ts). It was one
 * DELETE of the whole backlog: past the query deadline with a large one, every hour, on a connection of the main
 * pool, and deaf to the stop. The statements are counted by the database itself (a statement-level trigger
 * recording how many rows each DELETE took), not by timing.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { MAINTENANCE_BATCH } from '../../src/db/maintenance'
import { PostgresStore } from '../../src/store/postgres/store'
import { startPostgres, type TestPostgres } from './support/postgres'

const DAY = 86_400_000
const OLD = 2 * MAINTENANCE_BATCH + 500
const RECENT = 10

let pg: TestPostgres
let store: PostgresStore
let direct: InstanceType<typeof Bun.SQL>
const now = Date.now()
const cutoff = now - 30 * DAY

beforeAll(async () => {
  pg = await startPostgres()
  store = await PostgresStore.open(pg.url)
  direct = new Bun.SQL(pg.url, { max: 1 })
  await direct.unsafe(`
    CREATE TABLE prune_statements (id serial PRIMARY KEY, deleted int NOT NULL);
    CREATE FUNCTION count_deleted() RETURNS trigger LANGUAGE plpgsql AS
      $$ BEGIN INSERT INTO prune_statements (deleted) SELECT count(*) FROM gone; RETURN NULL; END $$;
    CREATE TRIGGER count_deleted AFTER DELETE ON api_request_log REFERENCING OLD TABLE AS gone
      FOR EACH STATEMENT EXECUTE FUNCTION count_deleted();`)
})
afterAll(async () => {
  await direct?.close()
  await store?.close()
  await pg?.destroy()
})

/** A backlog of OLD rows past the retention, and RECENT rows within it; the statement count starts again. */
async function backlog() {
  await direct.unsafe('TRUNCATE api_request_log, prune_statements')
  await direct.unsafe(
    `INSERT INTO api_request_log (created_at, request_id, method, route, status, latency_ms)
     SELECT $1::bigint - i, 'old-' || i, 'GET', '/v1/models', 200, 1 FROM generate_series(1, $2::int) AS i
     UNION ALL SELECT $3::bigint + i, 'recent-' || i, 'GET', '/v1/models', 200, 1 FROM generate_series(1, $4::int) AS i`,
    [cutoff - DAY, OLD, cutoff + DAY, RECENT],
  )
}
const left = async () => (await direct`SELECT count(*)::int AS n, count(*) FILTER (WHERE request_id LIKE 'recent-%')::int AS recent FROM api_request_log`)[0]
const statements = async () => (await direct`SELECT deleted FROM prune_statements ORDER BY id`).map((r: { deleted: number }) => r.deleted)

test('a backlog larger than a batch goes in several statements of a batch each, and all of it', async () => {
  await backlog()
  expect(await store.pruneRequestLog(cutoff)).toBe(OLD)
  expect(await statements()).toEqual([MAINTENANCE_BATCH, MAINTENANCE_BATCH, OLD - 2 * MAINTENANCE_BATCH])
  expect(await left()).toEqual({ n: RECENT, recent: RECENT })
})

test('a prune ends after the batch under way once the gateway is stopping', async () => {
  await backlog()
  let asked = 0
  // Stopping is seen after the first batch: nothing more is deleted.
  expect(await store.pruneRequestLog(cutoff, () => asked++ > 0)).toBe(MAINTENANCE_BATCH)
  expect(await statements()).toEqual([MAINTENANCE_BATCH])
  expect(await left()).toEqual({ n: OLD - MAINTENANCE_BATCH + RECENT, recent: RECENT })
  // Stopped before it began: nothing at all.
  expect(await store.pruneRequestLog(cutoff, () => true)).toBe(0)
  expect(await statements()).toEqual([MAINTENANCE_BATCH])
})
