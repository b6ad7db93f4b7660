import { Database } from 'bun:sqlite'
import { closeSync, mkdirSync, openSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { drizzle, type BunSQLiteDatabase } from 'drizzle-orm/bun-sqlite'
import { readMigrationFiles } from 'drizzle-orm/migrator'
import { isBusy } from './busy'
import { capCountsBeforeRollups } from './counts-before-rollups'
import { DatabaseFileError } from './open-error'
import { refuseNewerSchema, SchemaNewerError, type RecordedMigration } from './newer-schema'
import { pendingMigrations, withRegeneratedDates } from './pending-migrations'
import * as schema from './schema'

export type Db = BunSQLiteDatabase<typeof schema> & { $client: Database }

/** How long a writer waits for another's lock before giving up. */
export const BUSY_TIMEOUT_MS = 5000

/**
 * How long the gateway's serving connection lets SQLite's busy handler wait for another process's lock:
 * that wait holds the only thread, so it covers a sibling worker's commit and no more. Longer locks are
 * waited for on the event loop, up to BUSY_TIMEOUT_MS (the write queue's tries again, and those of the writes
 * made outside it: WriteQueue.waitingForLock); opening and migrating keep the full busy timeout.
 */
export const LOCK_WAIT_MS = 20

export const MIGRATIONS = join(import.meta.dir, '..', '..', 'drizzle')

/**
 * The database holds key hashes, budgets and who called what: only the gateway's user may read it, whatever
 * the umask. Folders made here are 0700 and the file 0600 (SQLite gives its -wal and -shm files the
 * database file's mode). Existing ones are the operator's: left as they are, with a warning if open to others.
 */
function createPrivately(path: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
  closeSync(openSync(path, 'a', 0o600))
}

function warnIfOpenToOthers(path: string): void {
  for (const [file, fix] of [[dirname(path), '700'], [path, '600'], [`${path}-wal`, '600'], [`${path}-shm`, '600']] as const) {
    let mode: number
    try {
      mode = statSync(file).mode & 0o777
    } catch {
      continue
    }
    if (mode & 0o077)
      console.warn(`[tollgate] ${file} is open to other users (mode ${mode.toString(8).padStart(4, '0')}); chmod ${fix} it unless that is meant`)
  }
}

/**
 * Drizzle's migrator for SQLite (the same table, the same rows), its checks inside the write transaction that
 * applies the migrations. Drizzle's reads what is recorded before it begins: two processes opening a fresh
 * file at once both set out to apply every migration, and the second failed ("table `api_keys` already
 * exists"); and a newer binary migrating between our check and our migration would go unseen. Recorded
 * migrations of this binary's are recorded under its dates first (withRegeneratedDates); what pendingMigrations
 * finds pending is then run and recorded, or only recorded, an older version's counts capped before the rollup
 * backfill sums them (capCountsBeforeRollups).
 */
function migrate(client: Database, path: string): void {
  const migrations = readMigrationFiles({ migrationsFolder: MIGRATIONS })
  client
    .transaction(() => {
      client.run('CREATE TABLE IF NOT EXISTS __drizzle_migrations (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at numeric)')
      const recorded = client.query('SELECT hash, created_at FROM __drizzle_migrations').all() as RecordedMigration[]
      refuseNewerSchema(recorded, MIGRATIONS, `the database ${path}`)
      const dated = withRegeneratedDates(recorded, migrations)
      dated.forEach((m, i) => {
        if (Number(m.created_at) !== Number(recorded[i]!.created_at)) client.run('UPDATE __drizzle_migrations SET created_at = ? WHERE hash = ?', [m.created_at, m.hash])
      })
      const pending = pendingMigrations(dated, migrations)
      capCountsBeforeRollups(client, pending, migrations)
      for (const { migration, run } of pending) {
        if (run) for (const statement of migration.sql) client.prepare(statement).run()
        client.run('INSERT INTO __drizzle_migrations (hash, created_at) VALUES (?, ?)', [migration.hash, migration.folderMillis])
      }
    })
    .immediate()
}

/**
 * Puts the file in WAL mode (a fresh file enters it once; after that this is a no-op). While another process
 * holds the file as it switches (gateways started together on one new file), SQLite answers SQLITE_BUSY at
 * once, without the busy handler: tried again until the busy timeout.
 */
function enterWal(client: Database): void {
  const until = performance.now() + BUSY_TIMEOUT_MS
  for (;;) {
    try {
      client.exec('PRAGMA journal_mode = WAL')
      return
    } catch (error) {
      if (!isBusy(error) || performance.now() >= until) throw error
      Bun.sleepSync(5)
    }
  }
}

/**
 * Opens the database file (creating it and its folder privately), sets the pragmas every connection needs
 * and applies the committed migrations, unless a newer tollgate has migrated it (SchemaNewerError). Several
 * processes may open the same file: WAL lets readers run beside the one writer, and the busy timeout makes a
 * writer wait its turn instead of failing.
 */
export function openDatabase(path: string): Db {
  let client: Database | undefined
  try {
    if (path !== ':memory:') createPrivately(path)
    client = new Database(path, { create: true, strict: true })
    // First, before anything reads the file: another process may hold it for a moment (a worker of the same
    // group starting, recovering the WAL another left, or checkpointing it), and this one must wait its turn.
    client.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`)
    enterWal(client)
    client.exec('PRAGMA synchronous = NORMAL')
    client.exec('PRAGMA foreign_keys = ON')
    migrate(client, path)
    // A statement inside a transaction that already wrote keeps the pages it changes in a statement journal,
    // to undo itself alone if it fails. A usage row with its rollup trigger changes some 17 pages (the table, its
    // nine indexes, three rollups): past SQLite's 64 KiB, that journal spills to a temporary file, written on
    // every settlement (+14 µs each, some 15% of a chat request's CPU). Kept in memory it never does. Set after
    // the migrations, whose one-off sums over a whole table may want a large temporary store.
    client.exec('PRAGMA temp_store = MEMORY')
  } catch (error) {
    client?.close()
    if (error instanceof SchemaNewerError) throw error
    throw new DatabaseFileError(path, error)
  }
  const db = drizzle({ client, schema })
  if (path !== ':memory:') warnIfOpenToOthers(path)
  return db as Db
}
