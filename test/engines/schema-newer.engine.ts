/**
 * The Postgres store after a rollback: a database a newer tollgate has migrated is refused at open (the
 * gateway exits 1 saying why, `tollgate migrate --to` refuses it as a target), instead of running silently
 * against tables this binary does not know. A fresh database, one this binary migrated, and replicas opening
 * one database at once are served as before. A newer binary is simulated by a row in
 * drizzle.__drizzle_migrations dated after this binary's last migration.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { openDatabase } from '../../src/db/open'
import { SchemaNewerError } from '../../src/db/newer-schema'
import { PG_MIGRATIONS, PostgresStore } from '../../src/store/postgres/store'
import { runMigrate } from '../support/cli'
import { MASTER_KEY, runGatewayExpectingExit, tempDir } from '../support/gateway'
import { startPostgres, type TestPostgres } from './support/postgres'

let pg: TestPostgres
beforeAll(async () => {
  pg = await startPostgres()
})
afterAll(async () => {
  await pg?.destroy()
})

const journal = JSON.parse(readFileSync(join(PG_MIGRATIONS, 'meta', '_journal.json'), 'utf8')) as { entries: Array<{ tag: string; when: number }> }
const ours = journal.entries.at(-1)!
const NEWER_HASH = 'b7c8d9e0f1a2'.padEnd(64, '0')
const NEWER_WHEN = ours.when + 86_400_000

let n = 0
/** A database this binary migrated, then a newer binary migrated once more (one row past ours). */
async function newerDatabase(): Promise<string> {
  const url = await pg.database(`newer_${++n}`)
  await (await PostgresStore.open(url)).close()
  const sql = new Bun.SQL(url)
  await sql`INSERT INTO drizzle.__drizzle_migrations (hash, created_at) VALUES (${NEWER_HASH}, ${NEWER_WHEN})`
  await sql.close()
  return url
}

const recordedCount = async (url: string) => {
  const sql = new Bun.SQL(url)
  try {
    const [{ n }] = await sql`SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations`
    return n as number
  } finally {
    await sql.close()
  }
}

test('a database a newer tollgate migrated is refused at open, naming both newest migrations', async () => {
  const url = await newerDatabase()
  const error = await PostgresStore.open(url).then(
    () => null,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(SchemaNewerError)
  const message = (error as Error).message
  expect(message).toContain('newer tollgate')
  expect(message).toContain(NEWER_HASH.slice(0, 12))
  expect(message).toContain(new Date(NEWER_WHEN).toISOString())
  expect(message).toContain(ours.tag)
  expect(message).toContain('restore')
  // No credentials in what an operator's log keeps.
  expect(message).not.toContain(url)
  expect(await recordedCount(url)).toBe(journal.entries.length + 1)
  // The refused open let go of its lock: this binary's own database opens at once after it.
  const fresh = await pg.database(`after_refusal_${n}`)
  await (await PostgresStore.open(fresh)).close()
})

test('a gateway on it refuses to start (exit 1, the startup refusal line, no stack trace)', async () => {
  const url = await newerDatabase()
  const result = await runGatewayExpectingExit({ TOLLGATE_MASTER_KEY: MASTER_KEY, TOLLGATE_DATABASE_URL: url })
  expect(result.code).toBe(1)
  expect(result.output).toContain('[tollgate] refusing to start')
  expect(result.output).toContain('newer tollgate')
  expect(result.output).not.toContain('listening on')
  expect(result.output).not.toMatch(/^\s+at /m)
})

test('`tollgate migrate --to` refuses a target a newer tollgate migrated, and writes nothing', async () => {
  const url = await newerDatabase()
  const file = join(tempDir('tollgate-schema-newer-'), 'tollgate.db')
  openDatabase(file).$client.close()
  const { code, output } = await runMigrate({}, '--to', url, '--from', file)
  expect(code).toBe(1)
  expect(output).toContain('newer tollgate')
  expect(output).toContain('nothing was written')
  expect(output).not.toMatch(/^\s+at /m)
  expect(await recordedCount(url)).toBe(journal.entries.length + 1)
})

test('replicas opening one fresh database at once, then again, all open', async () => {
  const url = await pg.database('shared')
  const first = await Promise.all(Array.from({ length: 4 }, () => PostgresStore.open(url)))
  await Promise.all(first.map((s) => s.close()))
  const again = await Promise.all(Array.from({ length: 2 }, () => PostgresStore.open(url)))
  await Promise.all(again.map((s) => s.close()))
  expect(await recordedCount(url)).toBe(journal.entries.length)
})
