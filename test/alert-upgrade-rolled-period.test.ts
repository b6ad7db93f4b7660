/**
 * users.last_period_budget (the budget an ended period is judged against, rolledUsersOver: `last_period_budget > 0`)
 * came with an upgrade. Its migration first only added the column: a row the previous version had already rolled
 * (last_period_start/last_period_spend set, the crossing not yet seen by a check) got NULL there, and the first check
 * after the upgrade dropped the alert, where the previous version, restarted instead, raised it (README: a crossing
 * settled in a period's last interval is seen by the first check after the period's end). The migration now fills
 * the column for rolled rows with the budget in force (0016_user_last_period_budget_filled: first appended to 0014,
 * which a file that had recorded 0014 never ran; test/migrate-edited-migration.test.ts).
 */
import { expect, test } from 'bun:test'
import { Database } from 'bun:sqlite'
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { drizzle } from 'drizzle-orm/bun-sqlite'
import { migrate } from 'drizzle-orm/bun-sqlite/migrator'
import { AlertOutbox } from '../src/alerts/outbox'
import { AlertWatch } from '../src/alerts/watch'
import { configSchema } from '../src/config/schema'
import { MIGRATIONS } from '../src/db/open'
import { SqliteStore } from '../src/store/sqlite/store'
import { MASTER_KEY, tempDir } from './support/gateway'

const DAY = 86_400_000
const day0 = Date.UTC(2026, 11, 1)
const day1 = day0 + DAY
const settings = configSchema.parse({ master_key: MASTER_KEY, alerts: { thresholds: [50, 80, 100] } }).alerts

test('a period the previous version rolled, its crossing unseen, is alerted by the first check after the upgrade', async () => {
  const dir = tempDir()
  try {
    // The previous version's schema: every migration before 0014_user_last_period_budget.
    const previous = join(dir, 'drizzle-previous')
    cpSync(MIGRATIONS, previous, { recursive: true })
    const journal = JSON.parse(readFileSync(join(previous, 'meta', '_journal.json'), 'utf8'))
    journal.entries = journal.entries.filter((e: { idx: number }) => e.idx < 14)
    writeFileSync(join(previous, 'meta', '_journal.json'), JSON.stringify(journal))
    const path = join(dir, 'tollgate.db')
    const client = new Database(path, { create: true })
    migrate(drizzle({ client }), { migrationsFolder: previous })
    // $9 of a $10 daily budget settled at 23:59:59; at 00:00:05 a request rolled the row (the previous version's
    // rollAndDebitUser: last_period_start and last_period_spend kept) and the process was stopped for the upgrade
    // before its next check.
    client
      .query(
        `INSERT INTO users (id, max_budget, budget_period, period_start, spend, reserved, last_period_start, last_period_spend, blocked, created_at, updated_at)
         VALUES ('u-daily', 10000000, 'daily', ?, 10000, 0, ?, 9000000, 0, ?, ?)`,
      )
      .run(day1, day0, day0, day0)
    client.close()

    // The upgraded gateway opens the file (0014, 0015_alert_dedupe_until and the fill, 0016, applied) and runs its first check.
    const store = await SqliteStore.open(path)
    try {
      const outbox = new AlertOutbox(store.alerts, [])
      const watch = new AlertWatch(store.alerts, settings)
      const written: string[] = []
      const at = day1 + 60_000
      await watch.check(async (a) => {
        if (await outbox.raise(a, at)) written.push(a.dedupeKey)
      }, at)
      expect(written.sort()).toEqual([`budget:user:u-daily:${day0}:10000000:50`, `budget:user:u-daily:${day0}:10000000:80`])
    } finally {
      await store.close()
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
