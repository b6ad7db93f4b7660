import { Database } from 'bun:sqlite'
import { mkdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { drizzle, type BunSQLiteDatabase } from 'drizzle-orm/bun-sqlite'
import { migrate } from 'drizzle-orm/bun-sqlite/migrator'
import * as schema from './schema'

export type Db = BunSQLiteDatabase<typeof schema> & { $client: Database }

export const MIGRATIONS = join(import.meta.dir, '..', '..', 'drizzle')

/**
 * Opens the database file (creating its folder), sets the pragmas every connection needs and applies
 * the committed migrations. Several processes may open the same file: WAL lets readers run beside
 * the one writer, and the busy timeout makes a writer wait its turn instead of failing.
 */
export function openDatabase(path: string): Db {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true })
  const client = new Database(path, { create: true, strict: true })
  client.exec('PRAGMA journal_mode = WAL')
  client.exec('PRAGMA synchronous = NORMAL')
  client.exec('PRAGMA busy_timeout = 5000')
  client.exec('PRAGMA foreign_keys = ON')
  const db = drizzle({ client, schema })
  migrate(db, { migrationsFolder: MIGRATIONS })
  return db as Db
}
