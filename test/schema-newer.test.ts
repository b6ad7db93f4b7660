/**
 * A rollback to an older tollgate after a newer one migrated the database: the older one finds no migration
 * to apply and would run against a schema it does not know (a new NOT NULL column fails its inserts, a
 * renamed table its reads), silently until the first failing write. At open it refuses instead, naming the
 * database's newest migration and its own, and saying to run the newer tollgate or restore a backup. A
 * database it migrated itself, a fresh one, and one file opened by several processes at once open as before.
 * A newer binary is simulated by a row in __drizzle_migrations dated after this binary's last migration.
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { Database } from 'bun:sqlite'
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { drizzle } from 'drizzle-orm/bun-sqlite'
import { migrate } from 'drizzle-orm/bun-sqlite/migrator'
import { MIGRATIONS, openDatabase } from '../src/db/open'
import { runMigrate } from './support/cli'
import { BUN, MASTER_KEY, ROOT, runGatewayExpectingExit, tempDir } from './support/gateway'
import { freePort } from './support/free-port'

const dir = tempDir('tollgate-schema-newer-')
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const journal = JSON.parse(readFileSync(join(MIGRATIONS, 'meta', '_journal.json'), 'utf8')) as { entries: Array<{ tag: string; when: number }> }
const ours = journal.entries.at(-1)!
const NEWER_HASH = 'a1b2c3d4e5f6'.padEnd(64, '0')
const NEWER_WHEN = ours.when + 86_400_000

let n = 0
/** A database this binary migrated, then a newer binary migrated once more (one row past ours). */
function newerDatabase(): string {
  const path = join(dir, `newer-${++n}.db`)
  openDatabase(path).$client.close()
  const raw = new Database(path)
  raw.run('INSERT INTO __drizzle_migrations (hash, created_at) VALUES (?, ?)', [NEWER_HASH, NEWER_WHEN])
  raw.close()
  return path
}

const migrationRows = (path: string) => {
  const raw = new Database(path, { readonly: true })
  try {
    return raw.query('SELECT hash, created_at FROM __drizzle_migrations ORDER BY id').all()
  } finally {
    raw.close()
  }
}

describe('a database migrated by a newer tollgate', () => {
  test('is refused at open, naming its newest migration and this binary\'s, and what to do', () => {
    const path = newerDatabase()
    let error: unknown
    try {
      openDatabase(path).$client.close()
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(Error)
    const message = (error as Error).message
    expect(message).toContain(path)
    expect(message).toContain('newer tollgate')
    expect(message).toContain(NEWER_HASH.slice(0, 12))
    expect(message).toContain(new Date(NEWER_WHEN).toISOString())
    expect(message).toContain(ours.tag)
    expect(message).toContain('restore')
    // Refused before anything was written: the database is as the newer binary left it.
    expect(migrationRows(path).length).toBe(journal.entries.length + 1)
  })

  test('a gateway refuses to start on it, as it refuses a bad configuration (exit 1, no stack trace)', async () => {
    const path = newerDatabase()
    const result = await runGatewayExpectingExit({ TOLLGATE_MASTER_KEY: MASTER_KEY, TOLLGATE_DB: path })
    expect(result.code).toBe(1)
    expect(result.output).toContain('[tollgate] refusing to start')
    expect(result.output).toContain('newer tollgate')
    expect(result.output).toContain(ours.tag)
    expect(result.output).not.toContain('listening on')
    expect(result.output).not.toMatch(/^\s+at /m)
  })

  test('a worker group refuses to start on it too (the primary opens the file first)', async () => {
    if (process.platform !== 'linux') return
    const path = newerDatabase()
    const result = await runGatewayExpectingExit({ TOLLGATE_MASTER_KEY: MASTER_KEY, TOLLGATE_DB: path, TOLLGATE_WORKERS: '2', TOLLGATE_PORT: String(freePort()) })
    expect(result.code).toBe(1)
    expect(result.output).toContain('[tollgate] refusing to start')
    expect(result.output).toContain('newer tollgate')
    expect(result.output).not.toContain('listening on')
  })

  test('`tollgate migrate` refuses it as its source, and writes nothing', async () => {
    const path = newerDatabase()
    const { code, output } = await runMigrate({}, '--to', 'postgres://127.0.0.1:1/none', '--from', path)
    expect(code).toBe(1)
    expect(output).toContain('newer tollgate')
    expect(output).not.toMatch(/^\s+at /m)
  })
})

describe('databases this binary knows open as before', () => {
  test('a fresh database, then the same one again (this binary migrated it)', () => {
    const path = join(dir, 'ours.db')
    openDatabase(path).$client.close()
    openDatabase(path).$client.close()
    expect(migrationRows(path).length).toBe(journal.entries.length)
  })

  test('an older database (a prefix of this binary\'s migrations) is brought up to date', () => {
    const path = join(dir, 'older.db')
    // As an older binary would have left it: its last migration is this binary's second to last.
    const older = join(dir, 'drizzle-older')
    cpSync(MIGRATIONS, older, { recursive: true })
    writeFileSync(join(older, 'meta', '_journal.json'), JSON.stringify({ ...journal, entries: journal.entries.slice(0, -1) }))
    const raw = new Database(path, { create: true })
    migrate(drizzle({ client: raw }), { migrationsFolder: older })
    raw.close()
    expect(migrationRows(path).length).toBe(journal.entries.length - 1)
    openDatabase(path).$client.close()
    expect(migrationRows(path).length).toBe(journal.entries.length)
  })

  test('one fresh file opened by several processes at once (gateways started together on it) opens in each, migrated once', async () => {
    for (let round = 0; round < 3; round++) await openTogether(join(dir, `fresh-${round}.db`))
  })

  test('one file this binary migrated, opened by several processes at once (a worker group after its primary), opens in each', async () => {
    const path = join(dir, 'shared.db')
    openDatabase(path).$client.close()
    await openTogether(path)
  })
})

/** Four processes open `path` at once; each must open it without a word on stderr. */
async function openTogether(path: string): Promise<void> {
  const script = `import { openDatabase } from ${JSON.stringify(join(ROOT, 'src', 'db', 'open.ts'))}; openDatabase(process.argv[1]).$client.close()`
  const procs = Array.from({ length: 4 }, () => Bun.spawn([BUN, '-e', script, path], { stdout: 'pipe', stderr: 'pipe' }))
  const results = await Promise.all(procs.map(async (p) => ({ code: await p.exited, err: await new Response(p.stderr).text() })))
  expect(results).toEqual(procs.map(() => ({ code: 0, err: '' })))
  expect(migrationRows(path).length).toBe(journal.entries.length)
}
