import type { MigrationMeta } from 'drizzle-orm/migrator'
import type { RecordedMigration } from './newer-schema'
import { currentHash, SUPERSEDED_MIGRATIONS } from './superseded-migrations'

/** One of this binary's migrations a database has not recorded: to run, or only to record (`run` false). */
export interface PendingMigration {
  migration: MigrationMeta
  run: boolean
}

/**
 * What a database lacks of `migrations` (this binary's, in journal order), as every reader of the recorded ones
 * counts it: the SQLite and Postgres migrators, which apply it, and `tollgate migrate`'s source check, which
 * refuses a file that lacks any. Drizzle's rule: the migrations dated after the newest recorded. One that a
 * recorded superseded text stands for (superseded-migrations.ts) ran with it, and is only recorded.
 */
export function pendingMigrations(recorded: readonly RecordedMigration[], migrations: readonly MigrationMeta[]): PendingMigration[] {
  const newest = Math.max(-Infinity, ...recorded.map((m) => Number(m.created_at)))
  const ranUnderOldText = new Set(recorded.flatMap((m) => SUPERSEDED_MIGRATIONS.get(m.hash) ?? []))
  return migrations.filter((m) => m.folderMillis > newest).map((migration) => ({ migration, run: !ranUnderOldText.has(migration.hash) }))
}

/**
 * The recorded migrations as the SQLite migrator dates them. A database whose recorded migrations are exactly this
 * binary's first ones, by the hash of their SQL (a superseded text counting as the one it was edited from), has
 * their schema whatever dates they were recorded under: they are taken at this binary's dates, so that drizzle's
 * rule does not apply one again. Databases made by 37f3420..53bf675 recorded 0002 (the same SQL, regenerated since)
 * dated 1796152861392, and failed with "table already exists". Those of earlier builds, whose 0002 held other SQL,
 * keep their dates.
 */
export function withRegeneratedDates(recorded: readonly RecordedMigration[], migrations: readonly MigrationMeta[]): RecordedMigration[] {
  const ours = new Map(migrations.slice(0, recorded.length).map((m) => [m.hash, m.folderMillis]))
  const hashes = recorded.map((m) => currentHash(m.hash))
  if (ours.size !== recorded.length || new Set(hashes).size !== recorded.length || !hashes.every((h) => ours.has(h))) return [...recorded]
  return recorded.map((m, i) => ({ ...m, created_at: ours.get(hashes[i]!)! }))
}
