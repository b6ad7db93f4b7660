import { constants, Database } from 'bun:sqlite'
import { existsSync, statSync } from 'node:fs'
import { resolve } from 'node:path'
import { drizzle } from 'drizzle-orm/bun-sqlite'
import { readMigrationFiles } from 'drizzle-orm/migrator'
import { refuseNewerSchema, type RecordedMigration } from './newer-schema'
import { BUSY_TIMEOUT_MS, MIGRATIONS, type Db } from './open'
import { pendingMigrations, withRegeneratedDates } from './pending-migrations'
import * as schema from './schema'
import { currentHash } from './superseded-migrations'

/** A file `tollgate migrate` will not read: missing, not a tollgate database, or not at this version's schema. */
class SourceDatabaseError extends Error {
  override name = 'SourceDatabaseError'
}

/**
 * A tollgate SQLite file opened to be read as it is (`tollgate migrate`'s source): read-only, so never created,
 * migrated or written. openDatabase would create a missing path, and give any SQLite file (an empty one, another
 * program's) tollgate's tables, to be copied as an install with no rows. Refused unless the file records this
 * version's migrations, every one, as the gateway counts them (pendingMigrations: a file the gateway would open
 * without running one is current); a newer tollgate's is refused as the gateway refuses it (SchemaNewerError).
 */
export function openToRead(path: string): Db {
  if (path === ':memory:' || !isFile(path)) throw new SourceDatabaseError(`no SQLite database at ${path}`)
  let client: Database
  try {
    client = openReadOnly(path)
  } catch (error) {
    throw new SourceDatabaseError(`${path} cannot be opened as a SQLite database (${(error as Error).message})`)
  }
  try {
    client.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`)
    refuseUnlessCurrent(client, path)
  } catch (error) {
    client.close()
    throw error
  }
  return drizzle({ client, schema }) as Db
}

/**
 * Read-only, and creating nothing beside the file: a read-only open of a WAL database makes an empty `-wal` and
 * `-shm` there, and leaves them. Without a `-wal` beside it no process has the file open (a WAL database's last
 * connection removes it) and everything is in the file itself, so it is opened immutable: no locks, no files.
 * With one, committed writes may be in it still (a gateway killed, or still running): opened as SQLite reads a
 * live file, which the `-wal` and `-shm` already beside it serve. Whether it changed meanwhile: beginReadSnapshot.
 */
function openReadOnly(path: string): Database {
  if (existsSync(`${path}-wal`)) return new Database(path, { readonly: true, strict: true })
  // A URI filename: `?`, `#` and `%` in the path escaped, so that none is read as the URI's own.
  const uri = `file:${resolve(path).replace(/[?#%]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)}?immutable=1`
  return new Database(uri, constants.SQLITE_OPEN_READONLY | constants.SQLITE_OPEN_URI)
}

/** The reads of a source file from one moment (`beginReadSnapshot`). */
export interface ReadSnapshot {
  /** Ends the reads; `changed` when the file was written to, or opened to write, since they began. */
  end(): { changed: boolean }
}

/**
 * Every read of `source` until `end` sees the file as it was at this call: one read transaction, whose snapshot
 * SQLite keeps stable whatever another connection commits meanwhile (in WAL mode a reader keeps its end of the
 * `-wal`), so tables read one after another are of one moment. Whether the file changed meanwhile: SQLite's
 * data_version, which moves when another connection commits, catches a running gateway's writes, which go into
 * its `-wal` and leave the main file as it was until a checkpoint; fileStamp catches the file rewritten or
 * opened to write, which an immutable open (no `-wal` beside the file) would not see.
 */
export function beginReadSnapshot(source: Db, path: string): ReadSnapshot {
  const client = source.$client
  const stamp = fileStamp(path)
  client.exec('BEGIN')
  // A deferred transaction's snapshot starts at its first read: this one.
  const version = dataVersion(client)
  return {
    end() {
      client.exec('COMMIT')
      return { changed: dataVersion(client) !== version || fileStamp(path) !== stamp }
    },
  }
}

const dataVersion = (client: Database): number => (client.query('PRAGMA data_version').get() as { data_version: number }).data_version

/**
 * What changes when another process writes to the main file or opens it to write (its `-wal` appears); not a
 * write to a `-wal` (beginReadSnapshot's data_version sees those).
 */
export function fileStamp(path: string): string {
  const { ino, size, mtimeMs } = statSync(path)
  return `${ino}:${size}:${mtimeMs}:${existsSync(`${path}-wal`)}`
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile()
  } catch {
    return false
  }
}

function refuseUnlessCurrent(client: Database, path: string): void {
  let recorded: RecordedMigration[]
  try {
    recorded = client.query('SELECT hash, created_at FROM __drizzle_migrations').all() as RecordedMigration[]
  } catch (error) {
    // No such table (an empty file, another program's database), or no database at all.
    throw new SourceDatabaseError(`${path} is not a tollgate database (${(error as Error).message})`)
  }
  const ours = readMigrationFiles({ migrationsFolder: MIGRATIONS })
  const applied = new Set(recorded.map((m) => currentHash(m.hash)))
  if (!ours.some((m) => applied.has(m.hash))) throw new SourceDatabaseError(`${path} is not a tollgate database (it records none of tollgate's migrations)`)
  refuseNewerSchema(recorded, MIGRATIONS, `the database ${path}`)
  const missing = pendingMigrations(withRegeneratedDates(recorded, ours), ours).filter((m) => m.run).length
  if (missing > 0)
    throw new SourceDatabaseError(
      `${path} was written by an older tollgate (${missing} of this version's migrations not applied) and is only read here: ` +
        'start this version of the gateway on it once, which brings it up to date as any upgrade does, stop it, and migrate again',
    )
}
