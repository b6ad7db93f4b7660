/**
 * `tollgate migrate --from X` only reads X. It opened X as the gateway does, which creates a missing path and
 * applies tollgate's migrations to whatever file it is: an empty file, or another program's SQLite database,
 * was given tollgate's tables (written to) and copied as an install with no rows, "migrated". The source is now
 * opened read-only; a missing file, one that is not a tollgate database, or one an older tollgate wrote (whose
 * schema this version would have to change first) is refused with a clear line and exit 1, the file as it was,
 * before the target is opened. The copy itself is covered on Postgres by engines/migrate.engine.ts.
 */
import { afterAll, expect, test } from 'bun:test'
import { Database } from 'bun:sqlite'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { openDatabase } from '../src/db/open'
import { fileStamp, openToRead } from '../src/db/open-to-read'
import { users } from '../src/db/schema'
import { runMigrate } from './support/cli'
import { BUN, ROOT, tempDir } from './support/gateway'

const dir = tempDir('tollgate-migrate-source-')
afterAll(() => rmSync(dir, { recursive: true, force: true }))

// Never reached: every source below is refused before the target is opened.
const TARGET = 'postgres://tollgate@127.0.0.1:1/never'

const migrateFrom = (from: string) => runMigrate({}, '--to', TARGET, '--from', from)

const digest = (path: string) => Bun.hash(readFileSync(path)).toString(16)

/**
 * Everything written to `path` checkpointed into the file itself. A connection closed with statements still cached
 * (drizzle's, `query()`'s) is only closed once they are collected, and its close checkpoints the WAL into the file:
 * after the digest was taken, in one CI run, which then read as migrate having written the source.
 */
function checkpointed(path: string): void {
  const db = new Database(path)
  db.exec('PRAGMA wal_checkpoint(TRUNCATE)')
  db.close(true)
}

test('a path with no file is refused, and nothing is created there', async () => {
  const from = join(dir, 'absent', 'tollgate.db')
  const { code, output } = await migrateFrom(from)
  expect(code).toBe(1)
  expect(output).toContain(`no SQLite database at ${from}`)
  expect(existsSync(join(dir, 'absent'))).toBe(false)
})

test('a directory is refused as no database', async () => {
  const from = join(dir, 'a-folder')
  mkdirSync(from)
  const { code, output } = await migrateFrom(from)
  expect([code, output.includes(`no SQLite database at ${from}`)]).toEqual([1, true])
})

test('an empty file is refused as not a tollgate database, and left empty', async () => {
  const from = join(dir, 'empty.db')
  writeFileSync(from, '')
  const { code, output } = await migrateFrom(from)
  expect(code).toBe(1)
  expect(output).toContain('is not a tollgate database')
  expect(output).toContain('nothing was written')
  expect(output).not.toContain('migrated')
  expect(readFileSync(from).length).toBe(0)
})

test("another program's SQLite database, and a file that is no database, are refused and left as they were", async () => {
  const other = join(dir, 'other.db')
  const db = new Database(other)
  db.run('CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)')
  db.run("INSERT INTO notes (body) VALUES ('keep me')")
  db.close()
  const before = digest(other)
  const refused = await migrateFrom(other)
  expect([refused.code, refused.output.includes('is not a tollgate database')]).toEqual([1, true])
  expect(digest(other)).toBe(before)
  const check = new Database(other, { readonly: true })
  expect(check.query("SELECT name FROM sqlite_master WHERE type = 'table'").all()).toEqual([{ name: 'notes' }])
  check.close()

  const text = join(dir, 'notes.txt')
  writeFileSync(text, 'not a database at all, but long enough to have a header SQLite reads and rejects.\n'.repeat(4))
  const notDb = await migrateFrom(text)
  expect([notDb.code, notDb.output.includes('is not a tollgate database')]).toEqual([1, true])
  expect(notDb.output).not.toMatch(/^\s+at /m)
})

test('a file an older tollgate wrote is refused, saying how to bring it up to date, and not migrated here', async () => {
  const from = join(dir, 'older.db')
  openDatabase(from).$client.close()
  // As an older version left it: its newest migration not yet applied.
  const db = new Database(from)
  db.run('DELETE FROM __drizzle_migrations WHERE created_at = (SELECT max(created_at) FROM __drizzle_migrations)')
  const recorded = (db.query('SELECT count(*) AS n FROM __drizzle_migrations').get() as { n: number }).n
  db.close()
  checkpointed(from)
  const before = digest(from)
  const { code, output } = await migrateFrom(from)
  expect(code).toBe(1)
  expect(output).toContain('was written by an older tollgate')
  expect(output).toContain('start this version of the gateway on it once')
  expect(digest(from)).toBe(before)
  const after = new Database(from, { readonly: true })
  expect((after.query('SELECT count(*) AS n FROM __drizzle_migrations').get() as { n: number }).n).toBe(recorded)
  after.close()
})

test('a current tollgate file passes, is only read, and the run goes on to the target', async () => {
  const from = join(dir, 'current.db')
  openDatabase(from).$client.close()
  checkpointed(from)
  const before = digest(from)
  const { code, output } = await migrateFrom(from)
  // The target does not answer: the failure is the target's, and the file is as it was.
  expect(code).toBe(1)
  expect(output).not.toContain('tollgate database')
  expect(output).toContain('nothing was written')
  expect(digest(from)).toBe(before)
})

/** The files in `folder` whose names start with `name`: the database and whatever SQLite put beside it. */
const filesOf = (folder: string, name: string) => readdirSync(folder).filter((f) => f.startsWith(name)).sort()

/**
 * A current tollgate file as a stopped gateway leaves it: alone, its WAL copied back and removed. Made in a process
 * of its own, whose exit closes the file (this one's connections are closed lazily, their -wal kept meanwhile).
 */
async function stoppedGatewayFile(path: string): Promise<void> {
  const maker = Bun.spawn([BUN, '-e', `require(${JSON.stringify(join(ROOT, 'src', 'db', 'open.ts'))}).openDatabase(${JSON.stringify(path)})`], { stderr: 'ignore' })
  expect(await maker.exited).toBe(0)
}

/** Runs `sql` on `path` in a process killed once it is committed, before any checkpoint: as a gateway killed -9. */
async function killedAfter(path: string, sql: string): Promise<void> {
  const writer = Bun.spawn([BUN, '-e', `
    const db = new (require('bun:sqlite').Database)(${JSON.stringify(path)})
    db.run('PRAGMA wal_autocheckpoint = 0')
    db.run(${JSON.stringify(sql)})
    process.kill(process.pid, 'SIGKILL')
  `])
  await writer.exited
}

const INSERT_USER = (id: string) => `INSERT INTO users (id, period_start, created_at, updated_at) VALUES ('${id}', 0, 0, 0)`

test('migrate reads a stopped gateway\'s file and leaves nothing beside it: no -wal, no -shm', async () => {
  const folder = join(dir, 'alone')
  mkdirSync(folder)
  // `?`, `#` and `%` are a URI's own characters: the file is read by a URI filename (see openToRead).
  const from = join(folder, 'tollgate?#%.db')
  await stoppedGatewayFile(from)
  expect(filesOf(folder, 'tollgate')).toEqual(['tollgate?#%.db'])
  const before = digest(from)
  const { output } = await migrateFrom(from)
  expect(output).not.toContain('tollgate database')
  expect(output).toContain('nothing was written') // the target does not answer
  // Before: an empty tollgate?#%.db-wal and tollgate?#%.db-shm, left beside the file it "only reads".
  expect(filesOf(folder, 'tollgate')).toEqual(['tollgate?#%.db'])
  expect(digest(from)).toBe(before)
})

test('a file with a -wal beside it (its gateway killed) is read with the rows committed to that -wal', async () => {
  const from = join(dir, 'killed.db')
  await stoppedGatewayFile(from)
  await killedAfter(from, INSERT_USER('in-the-wal'))
  expect(existsSync(`${from}-wal`)).toBe(true)
  const source = openToRead(from)
  expect(source.select({ id: users.id }).from(users).all()).toEqual([{ id: 'in-the-wal' }])
  source.$client.close()
})

test("the file's stamp changes when another process writes to it, or opens it to write", async () => {
  const from = join(dir, 'stamped.db')
  await stoppedGatewayFile(from)
  const before = fileStamp(from)
  expect(fileStamp(from)).toBe(before)
  await killedAfter(from, INSERT_USER('meanwhile'))
  expect(fileStamp(from)).not.toBe(before)
})
