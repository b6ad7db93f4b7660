/**
 * A database made by a build between 37f3420 and 53bf675 recorded migration 0002 (the same SQL as today's) under
 * the date it had before it was regenerated (1796152861392, now 1796157303582). Drizzle applies whatever is
 * dated after the newest migration recorded, so it applied 0002 again and the gateway failed to start ("table
 * already exists"). Its migrations are exactly this binary's first three, by hash: it opens, brought up to date.
 */
import { afterAll, expect, test } from 'bun:test'
import { Database } from 'bun:sqlite'
import { readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { readMigrationFiles } from 'drizzle-orm/migrator'
import { MIGRATIONS, openDatabase } from '../src/db/open'
import { tempDir } from './support/gateway'

const dir = tempDir('tollgate-regenerated-')
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** The dates 53bf675's journal gave 0000, 0001 and 0002_next. */
const DATES_53BF675 = [1795428720980, 1795438363333, 1796152861392]

test('a database whose 0002 was recorded before it was regenerated opens, and gets 0003 onwards once', () => {
  const path = join(dir, 'made-by-53bf675.db')
  const raw = new Database(path)
  raw.run('CREATE TABLE __drizzle_migrations (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at numeric)')
  const migrations = readMigrationFiles({ migrationsFolder: MIGRATIONS })
  for (const [i, when] of DATES_53BF675.entries()) {
    for (const statement of migrations[i]!.sql) raw.run(statement)
    raw.run('INSERT INTO __drizzle_migrations (hash, created_at) VALUES (?, ?)', [migrations[i]!.hash, when])
  }
  raw.run("INSERT INTO users (id, period_start, created_at, updated_at) VALUES ('kept', 0, 0, 0)")
  raw.close()

  const db = openDatabase(path)
  try {
    expect(db.$client.query("SELECT id FROM users").all()).toEqual([{ id: 'kept' }])
    const recorded = db.$client.query('SELECT hash, created_at FROM __drizzle_migrations ORDER BY created_at').all()
    expect(recorded).toEqual(migrations.map((m) => ({ hash: m.hash, created_at: m.folderMillis })))
    expect(db.$client.query("SELECT name FROM sqlite_master WHERE name = 'usage_daily'").get()).toEqual({ name: 'usage_daily' })
  } finally {
    db.$client.close()
  }
  // And again: nothing left to redo.
  openDatabase(path).$client.close()
})

test('the journal still holds the regenerated 0002 this test is about', () => {
  const journal = JSON.parse(readFileSync(join(MIGRATIONS, 'meta', '_journal.json'), 'utf8')) as { entries: Array<{ when: number }> }
  expect(journal.entries[2]!.when).toBe(1796157303582)
  expect(journal.entries[2]!.when).toBeGreaterThan(DATES_53BF675[2]!)
})
