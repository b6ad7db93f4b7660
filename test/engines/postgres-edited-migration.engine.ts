/**
 * The Postgres side of migrate-edited-migration.test.ts: drizzle-pg/0013_user_last_period_budget shipped (4c90961)
 * as the ALTER alone, and 4e2cf26 appended the fill of rolled rows to it in place, which a database that had recorded
 * 0013 never ran. 0013 is back to its shipped text and the fill is 0015 (after 0014_alert_dedupe_until, which came
 * in meanwhile): a database migrated by 4c90961 gets it once, keeping the budget a row was rolled with; one migrated by
 * 4e2cf26..678f18f (the edited 0013 recorded) ran it already, and 0015 is recorded there without running again, while
 * 0014_alert_dedupe_until runs there if it has not.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { readMigrationFiles } from 'drizzle-orm/migrator'
import { PG_MIGRATIONS, PostgresStore } from '../../src/store/postgres/store'
import { postgresMigratedThrough } from './support/old-schema'
import { startPostgres, type TestPostgres } from './support/postgres'

const TAG = '0013_user_last_period_budget'
const SHIPPED_0013 = 'ALTER TABLE "users" ADD COLUMN "last_period_budget" bigint;'
const EDITED_0013 =
  'ALTER TABLE "users" ADD COLUMN "last_period_budget" bigint;--> statement-breakpoint\n' +
  'UPDATE "users" SET "last_period_budget" = "max_budget" WHERE "last_period_start" IS NOT NULL;'

const DAY = 86_400_000
const yesterday = Date.UTC(2026, 11, 2)
const today = yesterday + DAY

let pg: TestPostgres
beforeAll(async () => {
  pg = await startPostgres()
})
afterAll(async () => {
  await pg?.destroy()
})

/**
 * A database a build whose last migration was `throughIdx` (0013 unless told), with `text` for 0013, migrated; its
 * users rolled into today: [id, max_budget, last_period_budget].
 */
async function migratedWith(name: string, text: string, users: Array<[string, number | null, number | null]>, throughIdx = 13): Promise<string> {
  const url = await pg.database(name)
  await postgresMigratedThrough(url, throughIdx, { [TAG]: text })
  const sql = new Bun.SQL(url)
  try {
    for (const [id, maxBudget, lastPeriodBudget] of users)
      await sql`
        INSERT INTO users (id, max_budget, budget_period, period_start, spend, reserved, last_period_start, last_period_spend, last_period_budget, blocked, created_at, updated_at)
        VALUES (${id}, ${maxBudget}, 'daily', ${today}, 0, 0, ${yesterday}, 9000000, ${lastPeriodBudget}, false, ${yesterday}, ${today})`
  } finally {
    await sql.close()
  }
  return url
}

async function afterOpening(url: string) {
  await (await PostgresStore.open(url)).close()
  const sql = new Bun.SQL(url)
  try {
    const users = await sql`SELECT id, last_period_budget::float8 AS budget FROM users ORDER BY id`
    const hashes = await sql`SELECT hash FROM drizzle.__drizzle_migrations ORDER BY created_at`
    const dedupeUntil = await sql`SELECT 1 FROM information_schema.columns WHERE table_name = 'alerts' AND column_name = 'dedupe_until'`
    return {
      budgets: Object.fromEntries(users.map((u: { id: string; budget: number | null }) => [u.id, u.budget])),
      hashes: hashes.map((m: { hash: string }) => m.hash),
      dedupeUntil: dedupeUntil.length === 1,
    }
  } finally {
    await sql.close()
  }
}

test('a database migrated by 4c90961 gets the fill once, and a row rolled since keeps the budget it was rolled with', async () => {
  const url = await migratedWith('shipped_0013', SHIPPED_0013, [
    ['rolled-before', 10_000_000, null],
    ['rolled-since', 9_000_000, 10_000_000],
  ])
  const { budgets, hashes } = await afterOpening(url)
  expect(budgets).toEqual({ 'rolled-before': 10_000_000, 'rolled-since': 10_000_000 })
  expect(hashes).toEqual(readMigrationFiles({ migrationsFolder: PG_MIGRATIONS }).map((m) => m.hash))
})

const FILL = '0015_user_last_period_budget_filled'

for (const [build, throughIdx] of [['4e2cf26 (the edited 0013 recorded)', 13], ['678f18f (the edited 0013 and 0014_alert_dedupe_until recorded)', 14]] as const)
  test(`a database migrated by ${build} does not run the fill again: a row rolled with no budget keeps none`, async () => {
    const url = await migratedWith(`edited_0013_through_${throughIdx}`, EDITED_0013, [['no-budget-then', 5_000_000, null]], throughIdx)
    const { budgets, hashes, dedupeUntil } = await afterOpening(url)
    expect(budgets).toEqual({ 'no-budget-then': null })
    expect(dedupeUntil).toBe(true)
    // 0014_alert_dedupe_until, then the fill (recorded, as run with the edited 0013), then what follows.
    const migrations = readMigrationFiles({ migrationsFolder: PG_MIGRATIONS })
    expect(migrations[15]!.hash).toBe(createHash('sha256').update(readFileSync(join(PG_MIGRATIONS, `${FILL}.sql`))).digest('hex'))
    const edited = hashes.indexOf(createHash('sha256').update(EDITED_0013).digest('hex'))
    expect(edited).toBe(13)
    expect(hashes.slice(edited + 1)).toEqual(migrations.slice(14).map((m) => m.hash))
  })
