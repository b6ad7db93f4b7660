/**
 * Which store the gateway suites run on: SQLite files (the default), or, with TOLLGATE_TEST_DATABASE_URL set
 * (test/engines/stores.engine.ts sets it), databases on that Postgres server, one per test database path, so
 * that the same test files run on both stores.
 */
import { spawnSync } from 'bun'
import { existsSync } from 'node:fs'
import { join } from 'node:path'

export const TEST_DATABASE_URL = process.env.TOLLGATE_TEST_DATABASE_URL || undefined

const databases = new Map<string, string>()
let admin: InstanceType<typeof Bun.SQL> | null = null

/** The Postgres database standing for the SQLite file `dbPath` (made on first use; the same path, the same database). */
export async function databaseFor(dbPath: string): Promise<string> {
  const known = databases.get(dbPath)
  if (known) return known
  const name = `t_${new Bun.CryptoHasher('sha256').update(dbPath).digest('hex').slice(0, 24)}`
  admin ??= new Bun.SQL(TEST_DATABASE_URL!, { max: 2 })
  await admin.unsafe(`CREATE DATABASE "${name}"`).catch((error: Error) => {
    if (!/already exists/.test(error.message)) throw error
  })
  const url = new URL(TEST_DATABASE_URL!)
  url.pathname = `/${name}`
  databases.set(dbPath, url.href)
  return url.href
}

const PSQL = [join(process.env.TOLLGATE_PG_BIN ?? '/usr/lib/postgresql/15/bin', 'psql'), '/usr/bin/psql'].find((p) => existsSync(p)) ?? 'psql'

const literal = (v: unknown) => (v === null || v === undefined ? 'NULL' : typeof v === 'number' || typeof v === 'bigint' ? String(v) : `'${String(v).replaceAll("'", "''")}'`)

/**
 * A read of the test's own (the harness's `query`), synchronous as bun:sqlite's is: `?` parameters become
 * literals, the rows come back as JSON, with booleans as SQLite's 0 and 1 so that one expectation fits both.
 */
export function queryPostgres(url: string, sql: string, params: unknown[]): any[] {
  let i = 0
  const text = sql.replace(/\?/g, () => literal(params[i++]))
  const run = spawnSync([PSQL, url, '-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-c', `SELECT coalesce(json_agg(t), '[]'::json) FROM (${text}) t`])
  if (run.exitCode !== 0) throw new Error(`psql failed: ${run.stderr.toString()}`)
  return JSON.parse(run.stdout.toString(), (_, v) => (v === true ? 1 : v === false ? 0 : v))
}

/** Runs a statement on the test's database (psql), for rows a test writes behind the gateway's back; `?` parameters as in queryPostgres. */
export function execPostgres(url: string, sql: string, params: unknown[] = []): void {
  let i = 0
  const text = sql.replace(/\?/g, () => literal(params[i++]))
  const run = spawnSync([PSQL, url, '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c', text])
  if (run.exitCode !== 0) throw new Error(`psql failed: ${run.stderr.toString()}`)
}

/** Everything the database holds, as bytes (a plain dump), for scans of what is stored. */
export function dumpPostgres(url: string): Buffer {
  const bin = join(process.env.TOLLGATE_PG_BIN ?? '/usr/lib/postgresql/15/bin', 'pg_dump')
  const run = spawnSync([existsSync(bin) ? bin : 'pg_dump', '--data-only', url])
  if (run.exitCode !== 0) throw new Error(`pg_dump failed: ${run.stderr.toString()}`)
  return Buffer.from(run.stdout)
}

/**
 * Writes rows into the database a gateway about to start will use (a crash's leftovers, say), on whichever
 * store the suites run: the schema is made first. `?` parameters, one statement each.
 */
export async function writeBeforeStart(dbPath: string, statements: Array<[sql: string, params: unknown[]]>): Promise<void> {
  if (TEST_DATABASE_URL) {
    const { PostgresStore } = await import('../../src/store/postgres/store')
    const store = await PostgresStore.open(await databaseFor(dbPath))
    try {
      for (const [sql, params] of statements) {
        let i = 0
        await store.sql.unsafe(sql.replace(/\?/g, () => `$${++i}`), params as any[])
      }
    } finally {
      await store.close()
    }
    return
  }
  const { openDatabase } = await import('../../src/db/open')
  const db = openDatabase(dbPath)
  try {
    for (const [sql, params] of statements) db.$client.run(sql, params as any[])
  } finally {
    db.$client.close()
  }
}

/** The store a suite opens at `path` itself (not through a gateway): Postgres when the suites run there, else SQLite. */
export async function openTestStore(path: string): Promise<import('../../src/store/store').Store> {
  if (TEST_DATABASE_URL) return (await import('../../src/store/postgres/store')).PostgresStore.open(await databaseFor(path))
  return (await import('../../src/store/sqlite/store')).SqliteStore.open(path)
}
