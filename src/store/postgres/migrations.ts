import type { ReservedSQL } from 'bun'
import { readMigrationFiles } from 'drizzle-orm/migrator'
import { refuseNewerSchema, type RecordedMigration } from '../../db/newer-schema'
import { pendingMigrations } from '../../db/pending-migrations'
import { retryingConflicts } from './errors'

/**
 * The tables the ledger's transactions lock, in the order they lock them, in this build and every older one
 * (ledger-store.ts): a settlement locks its users' rows, then their keys', deletes its holds and writes
 * `usage`, whose trigger adds to the daily rollups; the request-log rows riding with it come last. A hold
 * stops at `reservations`.
 */
const LEDGER_TABLES = ['users', 'api_keys', 'reservations', 'usage', 'usage_daily', 'usage_daily_models', 'usage_daily_users', 'api_request_log']

/**
 * Applies the committed migrations not yet recorded (pendingMigrations), in one transaction, and records each in
 * `drizzle.__drizzle_migrations` as drizzle's migrator does (the same table, the same rows), unless a newer
 * tollgate has migrated the database (SchemaNewerError). `conn` holds the replicas' advisory lock.
 *
 * Drizzle's migrator takes each table as its statements come to it, while replicas of the older version
 * still serve: from 257fa20 it held `usage` from 0002 and reached `users` at 0008, an old replica's
 * settlement held its user's row waiting for `usage`, and Postgres ended the deadlock by failing the
 * migration, on every start while old replicas took traffic. Here the transaction first locks the ledger's
 * tables in the ledger's own order, waiting for the transactions in flight before it holds anything, so no
 * cycle forms; holds and settlements on every replica wait for the migrations meanwhile. With nothing to
 * apply, nothing is locked: a replica's restart stalls no request.
 */
export async function applyMigrations(conn: ReservedSQL, migrationsFolder: string): Promise<void> {
  const recorded: RecordedMigration[] = (await conn`SELECT to_regclass('drizzle.__drizzle_migrations') IS NOT NULL AS present`)[0].present
    ? await conn`SELECT hash, created_at FROM drizzle.__drizzle_migrations`
    : []
  refuseNewerSchema(recorded, migrationsFolder, 'the Postgres database')
  const pending = pendingMigrations(recorded, readMigrationFiles({ migrationsFolder }))
  if (pending.length === 0) return
  // The sweeper claims holds before it locks their users' rows: a cycle with it is a deadlock Postgres
  // undoes, the whole transaction with it, and running it again is safe.
  await retryingConflicts(
    () =>
      conn.begin(async (tx) => {
        const existing = await tx`
          SELECT name FROM json_array_elements_text(${JSON.stringify(LEDGER_TABLES)}::text::json) WITH ORDINALITY AS t(name, i)
           WHERE to_regclass(name) IS NOT NULL ORDER BY i`
        if (existing.length > 0) await tx.unsafe(`LOCK TABLE ${existing.map((t: { name: string }) => `"${t.name}"`).join(', ')} IN ACCESS EXCLUSIVE MODE`)
        await tx`CREATE SCHEMA IF NOT EXISTS drizzle`
        await tx`CREATE TABLE IF NOT EXISTS drizzle.__drizzle_migrations (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at bigint)`
        for (const { migration, run } of pending) {
          if (run) for (const statement of migration.sql) await tx.unsafe(statement)
          await tx`INSERT INTO drizzle.__drizzle_migrations ("hash", "created_at") VALUES (${migration.hash}, ${migration.folderMillis})`
        }
      }),
    3,
  )
}
