import { Database } from 'bun:sqlite'
import { statSync } from 'node:fs'
import { drizzle } from 'drizzle-orm/bun-sqlite'
import { readMigrationFiles } from 'drizzle-orm/migrator'
import { refuseNewerSchema, type RecordedMigration } from './newer-schema'
import { BUSY_TIMEOUT_MS, MIGRATIONS, type Db } from './open'
import * as schema from './schema'

/** A file `tollgate migrate` will not read: missing, not a tollgate database, or not at this version's schema. */
export class SourceDatabaseError extends Error {
  override name = 'SourceDatabaseError'
}

/**
 * A tollgate SQLite file opened to be read as it is (`tollgate migrate`'s source): read-only, so never created,
 * migrated or written. openDatabase would create a missing path, and give any SQLite file (an empty one, another
 * program's) tollgate's tables, to be copied as an install with no rows. Refused unless the file records this
 * version's migrations, every one; a newer tollgate's is refused as the gateway refuses it (SchemaNewerError).
 */
export function openToRead(path: string): Db {
  if (path === ':memory:' || !isFile(path)) throw new SourceDatabaseError(`no SQLite database at ${path}`)
  let client: Database
  try {
    client = new Database(path, { readonly: true, strict: true })
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
  const applied = new Set(recorded.map((m) => m.hash))
  if (!ours.some((m) => applied.has(m.hash))) throw new SourceDatabaseError(`${path} is not a tollgate database (it records none of tollgate's migrations)`)
  refuseNewerSchema(recorded, MIGRATIONS, `the database ${path}`)
  const missing = ours.filter((m) => !applied.has(m.hash)).length
  if (missing > 0)
    throw new SourceDatabaseError(
      `${path} was written by an older tollgate (${missing} of this version's migrations not applied) and is only read here: ` +
        'start this version of the gateway on it once, which brings it up to date as any upgrade does, stop it, and migrate again',
    )
}
