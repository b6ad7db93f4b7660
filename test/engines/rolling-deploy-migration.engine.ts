/**
 * A rolling deploy on Postgres from 257fa20 (the last build before the daily rollups): an OLD replica keeps
 * serving while a NEW replica starts on the same database and migrates it, as the README's "Upgrades and
 * rollbacks" allows ("replicas of the old version still running keep running"). The pending migrations take
 * `usage` (0002 drops its day indexes and sums it into the rollups, 0004 alters it) long before `users` (0008),
 * while an old replica's settlement locks its user's row (SELECT … FOR UPDATE) and then inserts into `usage`.
 * Taken in the migrations' order, the two deadlocked: the settlement waited on `usage` holding the row, the
 * migration then on the row, and Postgres failed the migration once the settlement had waited past
 * deadlock_timeout (1 s; on a real install the backfill of a large `usage` takes longer), so the new replica
 * could not start while old replicas took traffic. The migration first locks the ledger's tables in the ledger's
 * own order: the old replica's request waits for the migration instead, and both go through.
 *
 * To make the timing certain, the test holds `prices` (which 0005 alters) open in a transaction of its own
 * until the old replica's request has waited 1.5 s: in production the backfill is that pause.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { readMigrationFiles } from 'drizzle-orm/migrator'
import { join } from 'node:path'
import { PG_MIGRATIONS, PostgresStore } from '../../src/store/postgres/store'
import { spawnGateway, tempDir } from '../support/gateway'
import { startMockProvider, type MockProvider } from '../support/mock-provider'
import { spawnOld } from '../support/old-build'
import { startPostgres, type TestPostgres } from './support/postgres'

const OLD = '257fa20'
let pg: TestPostgres
let mock: MockProvider
beforeAll(async () => {
  pg = await startPostgres()
  mock = startMockProvider()
})
afterAll(async () => {
  mock?.stop()
  await pg?.destroy()
})

const chat = (url: string, key: string, content: string) =>
  fetch(url + '/v1/chat/completions', {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'mock:gpt-mock', messages: [{ role: 'user', content }], max_tokens: 50 }),
  })

/** The failed statement and Postgres's reason, out of the gateway's startup output. */
const whyNot = (output: string) =>
  `${/Failed query: ([^\n]*)/.exec(output)?.[1] ?? ''} ${/deadlock detected|lock timeout|could not [^\n]*/.exec(output)?.[0] ?? output.slice(-600)}`

/** Waits until a backend whose query is like `pattern` (and not like `unlike`) waits on a lock. */
async function waitFor(sql: InstanceType<typeof Bun.SQL>, what: string, pattern: string, unlike = '', ms = 20_000) {
  const deadline = Date.now() + ms
  while (Number((await sql`SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE ${pattern} AND query NOT LIKE ${unlike}`)[0].n) === 0) {
    if (Date.now() > deadline)
      throw new Error(`never saw ${what} waiting on a lock: ${JSON.stringify(await sql`SELECT wait_event_type, left(query, 120) AS q FROM pg_stat_activity WHERE state <> 'idle'`)}`)
    await Bun.sleep(20)
  }
}

test('a new replica migrating under an old replica that settles a request starts, and the settlement is written once', async () => {
  const url = await pg.database('rolling_deadlock')
  const dir = tempDir('rolling-deploy-')
  const pricing = { 'mock:gpt-mock': { input_per_million: 1, output_per_million: 2 } }
  const old = await spawnOld(OLD, { mock, dbPath: join(dir, 'old-unused.db'), env: { TOLLGATE_DATABASE_URL: url }, config: { pricing } })
  const sql = new Bun.SQL(url)
  const blocker = await sql.reserve()
  let fresh: Awaited<ReturnType<typeof spawnGateway>> | undefined
  try {
    expect((await old.admin('POST', '/v1/users', { id: 'team', max_budget: 10, budget_period: 'monthly' })).status).toBe(201)
    const key = (await old.admin('POST', '/v1/keys', { user_id: 'team' })).body.key as string
    for (let i = 0; i < 3; i++) expect((await chat(old.url, key, `before ${i}`)).status).toBe(200)

    // The migration will stop at 0005 (ALTER TABLE prices), holding `usage` since 0002.
    await blocker`BEGIN`
    await blocker`SELECT count(*) FROM prices`
    const starting = spawnGateway({ mock, dbPath: join(dir, 'new-unused.db'), env: { TOLLGATE_DATABASE_URL: url }, config: { pricing } }).then(
      (g) => g,
      (error: Error) => error,
    )
    await waitFor(sql, 'the migration', '%ALTER TABLE "prices"%')

    // The old replica serves a request meanwhile: its hold is taken, its settlement locks the user's row and waits
    // for `usage` (its statement: WITH s AS … DELETE FROM reservations … INSERT INTO usage). A migration that took
    // the settlements' tables in their order first would have the hold wait instead: either is waited for here.
    const during = chat(old.url, key, 'during the deploy')
    await waitFor(sql, 'the old replica', '%', '%ALTER TABLE%')
    await Bun.sleep(1500)
    await blocker`COMMIT`

    const started = await starting
    if (started instanceof Error) throw new Error(`the new replica did not start: ${whyNot(started.message)}`)
    fresh = started
    expect((await during).status).toBe(200)
    await fresh.settled()
    await Bun.sleep(500)
    const usage = (await fresh.admin('GET', '/v1/usage?limit=100')).body.data as unknown[]
    expect(usage.length).toBe(4)
    const [team] = await sql`SELECT spend, reserved FROM users WHERE id = 'team'`
    const [{ cost }] = await sql`SELECT sum(cost)::bigint AS cost FROM usage`
    expect(Number(team.reserved)).toBe(0)
    expect(Number(team.spend)).toBe(Number(cost))
  } finally {
    blocker.release()
    await fresh?.stop()
    await old.stop()
    await sql.close()
  }
})

test('a fresh database records every migration as drizzle does; reopened, it locks nothing, and opens beside a transaction holding `users`', async () => {
  const url = await pg.database('restart_locks_nothing')
  await (await PostgresStore.open(url)).close()
  const sql = new Bun.SQL(url)
  const busy = await sql.reserve()
  try {
    const recorded = await sql`SELECT hash, created_at FROM drizzle.__drizzle_migrations ORDER BY id`
    expect(recorded.map((m: { hash: string; created_at: string }) => [m.hash, Number(m.created_at)])).toEqual(
      readMigrationFiles({ migrationsFolder: PG_MIGRATIONS }).map((m) => [m.hash, m.folderMillis]),
    )
    // What a hold in flight takes on `users`: a migration's lock would wait for it.
    await busy`BEGIN`
    await busy`LOCK TABLE users IN ROW EXCLUSIVE MODE`
    const reopened = await Promise.race([PostgresStore.open(url), Bun.sleep(3_000).then(() => null)])
    expect(reopened).not.toBeNull()
    await reopened?.close()
  } finally {
    await busy`ROLLBACK`
    busy.release()
    await sql.close()
  }
})
