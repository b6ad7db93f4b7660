/**
 * 0014_user_last_period_budget shipped (70251f1, merged 4c90961) as the ALTER alone; 4e2cf26 then appended an
 * UPDATE filling rolled rows to that same file, changing its hash but not its journal date. A gateway opening a file
 * migrated by 4c90961..8a0cc56 applied nothing (0014 recorded, dated as ours), so the fill never ran there, and
 * `tollgate migrate`'s source check, counting migrations by hash, found 0014 "not applied" and refused the file as
 * written by an older tollgate, telling the operator to start this version on it once and migrate again: doing so
 * changed nothing, and the README's way from SQLite to Postgres was closed to that file for good.
 * 0014 is back to its shipped text and the fill is 0016 (after 0015_alert_dedupe_until, which came in meanwhile);
 * the migrator and the source check count what is applied alike (pendingMigrations), and the edited text's hash
 * stands for 0014 and 0016, which files made by 4e2cf26..678f18f ran: 0016 does not run on them again, and they
 * lack only what they never ran (0015_alert_dedupe_until, on a file made before it, and what came after 0016).
 */
import { expect, test } from 'bun:test'
import { Database } from 'bun:sqlite'
import { chmodSync, cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { drizzle } from 'drizzle-orm/bun-sqlite'
import { migrate } from 'drizzle-orm/bun-sqlite/migrator'
import { readMigrationFiles } from 'drizzle-orm/migrator'
import { MIGRATIONS } from '../src/db/open'
import { openToRead } from '../src/db/open-to-read'
import { SqliteStore } from '../src/store/sqlite/store'
import { tempDir } from './support/gateway'

/** 0014 as 70251f1 committed it (and main shipped it until 4e2cf26). */
const SHIPPED_0014 = 'ALTER TABLE `users` ADD `last_period_budget` integer;'
/** 0014 as 4e2cf26..678f18f shipped it, under the same journal entry. */
const EDITED_0014 =
  'ALTER TABLE `users` ADD `last_period_budget` integer;--> statement-breakpoint\n' +
  'UPDATE `users` SET `last_period_budget` = `max_budget` WHERE `last_period_start` IS NOT NULL;'

const DAY = 86_400_000
const yesterday = Date.UTC(2026, 11, 2)
const today = yesterday + DAY

/**
 * A file a build whose last migration was `throughIdx` (0014 unless told), with `text` for 0014, migrated; then its
 * users, as that build's gateway left them: [id, max_budget, last_period_budget], each rolled into today
 * (yesterday's $9 spent).
 */
function fileMigratedWith(dir: string, text: string, users: Array<[string, number | null, number | null]>, throughIdx = 14): string {
  const folder = join(dir, 'drizzle-0014')
  cpSync(MIGRATIONS, folder, { recursive: true })
  writeFileSync(join(folder, '0014_user_last_period_budget.sql'), text)
  const journal = JSON.parse(readFileSync(join(folder, 'meta', '_journal.json'), 'utf8'))
  journal.entries = journal.entries.filter((e: { idx: number }) => e.idx <= throughIdx)
  writeFileSync(join(folder, 'meta', '_journal.json'), JSON.stringify(journal))
  const path = join(dir, 'tollgate.db')
  const client = new Database(path, { create: true })
  migrate(drizzle({ client }), { migrationsFolder: folder })
  for (const [id, maxBudget, lastPeriodBudget] of users)
    client.run(
      `INSERT INTO users (id, max_budget, budget_period, period_start, spend, reserved, last_period_start, last_period_spend, last_period_budget, blocked, created_at, updated_at)
       VALUES (?, ?, 'daily', ?, 0, 0, ?, 9000000, ?, 0, ?, ?)`,
      [id, maxBudget, today, yesterday, lastPeriodBudget, yesterday, today],
    )
  client.close()
  chmodSync(path, 0o600)
  return path
}

const refusalOf = (path: string): string | null => {
  try {
    openToRead(path).$client.close()
    return null
  } catch (error) {
    return (error as Error).message
  }
}

const lastPeriodBudgets = (path: string) => {
  const client = new Database(path, { readonly: true })
  try {
    return Object.fromEntries((client.query('SELECT id, last_period_budget FROM users ORDER BY id').all() as Array<{ id: string; last_period_budget: number | null }>).map((u) => [u.id, u.last_period_budget]))
  } finally {
    client.close()
  }
}

const hasColumn = (path: string, table: string, column: string) => {
  const client = new Database(path, { readonly: true })
  try {
    return (client.query(`SELECT name FROM pragma_table_info('${table}')`).all() as Array<{ name: string }>).some((c) => c.name === column)
  } finally {
    client.close()
  }
}

const recordedHashes = (path: string) => {
  const client = new Database(path, { readonly: true })
  try {
    return (client.query('SELECT hash FROM __drizzle_migrations ORDER BY created_at').all() as Array<{ hash: string }>).map((m) => m.hash)
  } finally {
    client.close()
  }
}

test('a file migrated by 4c90961 gets the fill once this version has started on it, and `tollgate migrate` then takes it', async () => {
  const dir = tempDir()
  try {
    const path = fileMigratedWith(dir, SHIPPED_0014, [
      // Rolled before 0014 added the column: none kept.
      ['rolled-before', 10_000_000, null],
      // Rolled by 4c90961 under $10, its budget lowered to $9 since: the budget it ended under is kept.
      ['rolled-since', 9_000_000, 10_000_000],
    ])
    expect(refusalOf(path)).toContain('was written by an older tollgate')

    // README, Moving an existing SQLite install: "start this version of the gateway on it once and stop it".
    const store = await SqliteStore.open(path)
    await store.close()

    expect(lastPeriodBudgets(path)).toEqual({ 'rolled-before': 10_000_000, 'rolled-since': 10_000_000 })
    expect(refusalOf(path)).toBeNull()
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

const FILL = '0016_user_last_period_budget_filled'

test('a file migrated by 4e2cf26 (the edited 0014 recorded) lacks 0015 and what follows the fill, and the fill does not run again', async () => {
  const dir = tempDir()
  try {
    // Rolled by 4e2cf26 with no budget, given $5 within today: yesterday had no budget to be judged against.
    const path = fileMigratedWith(dir, EDITED_0014, [['no-budget-then', 5_000_000, null]])
    const migrations = readMigrationFiles({ migrationsFolder: MIGRATIONS })
    const journal = JSON.parse(readFileSync(join(MIGRATIONS, 'meta', '_journal.json'), 'utf8')) as { entries: Array<{ idx: number; tag: string }> }
    expect(journal.entries.find((e) => e.idx === 16)?.tag).toBe(FILL)
    // The fill (0016) ran with the edited 0014: every other migration after 0014 is missing, 0015_alert_dedupe_until first.
    const missing = migrations.length - 15 - 1
    expect(refusalOf(path)).toContain(`older tollgate (${missing} of this version's migrations not applied)`)

    const store = await SqliteStore.open(path)
    await store.close()

    expect(lastPeriodBudgets(path)).toEqual({ 'no-budget-then': null })
    expect(hasColumn(path, 'alerts', 'dedupe_until')).toBe(true)
    // 0015 ran after the edited 0014, then 0016 was recorded, as run with it, and what follows it ran.
    const hashes = recordedHashes(path)
    const edited = hashes.indexOf(new Bun.CryptoHasher('sha256').update(EDITED_0014).digest('hex'))
    expect(edited).toBe(14)
    expect(hashes.slice(edited + 1)).toEqual(migrations.slice(15).map((m) => m.hash))
    expect(refusalOf(path)).toBeNull()
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('a file migrated by 678f18f (the edited 0014 and 0015_alert_dedupe_until recorded) lacks nothing up to 0016, and the fill does not run again', async () => {
  const dir = tempDir()
  try {
    const path = fileMigratedWith(dir, EDITED_0014, [['no-budget-then', 5_000_000, null]], 15)
    const migrations = readMigrationFiles({ migrationsFolder: MIGRATIONS })
    // The fill ran with the edited 0014: only the migrations after it are missing.
    const after0016 = migrations.length - 17
    expect(refusalOf(path)).toEqual(after0016 === 0 ? null : expect.stringContaining(`older tollgate (${after0016} of this version's migrations not applied)`))

    const store = await SqliteStore.open(path)
    await store.close()

    expect(lastPeriodBudgets(path)).toEqual({ 'no-budget-then': null })
    const hashes = recordedHashes(path)
    const edited = hashes.indexOf(new Bun.CryptoHasher('sha256').update(EDITED_0014).digest('hex'))
    expect(edited).toBe(14)
    expect(hashes.slice(edited + 1)).toEqual(migrations.slice(15).map((m) => m.hash))
    expect(refusalOf(path)).toBeNull()
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
