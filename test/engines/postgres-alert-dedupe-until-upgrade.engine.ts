/**
 * Postgres's side of test/alert-dedupe-until-upgrade.test.ts: alerts an older version wrote get their
 * `dedupe_until` from the migration (drizzle-pg/0014_alert_dedupe_until.sql), and the audit retention's prune then
 * deletes those done with and keeps a lifetime budget's threshold alert, with its deliveries, on this store too.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { PG_MIGRATIONS, PostgresStore } from '../../src/store/postgres/store'
import { applyMigrations } from '../../src/store/postgres/migrations'
import { tempDir } from '../support/gateway'
import { startPostgres, type TestPostgres } from './support/postgres'

const DAY = 86_400_000
const NOW = Date.now()
const T = NOW - 100 * DAY

let pg: TestPostgres
beforeAll(async () => {
  pg = await startPostgres()
})
afterAll(async () => {
  await pg?.destroy()
})

test('Postgres: alerts written before the upgrade get their dedupe_until, and the prune keeps only those still needed', async () => {
  const dir = tempDir()
  const url = await pg.database('alert_upgrade')
  try {
    // The previous version's schema: the migrations before 0014_alert_dedupe_until.
    const previous = join(dir, 'drizzle-pg-previous')
    cpSync(PG_MIGRATIONS, previous, { recursive: true })
    const journal = JSON.parse(readFileSync(join(previous, 'meta', '_journal.json'), 'utf8'))
    for (const e of journal.entries.filter((e: { tag: string }) => e.tag >= '0014')) rmSync(join(previous, `${e.tag}.sql`))
    journal.entries = journal.entries.filter((e: { tag: string }) => e.tag < '0014')
    writeFileSync(join(previous, 'meta', '_journal.json'), JSON.stringify(journal))
    const sql = new Bun.SQL(url, { max: 1 })
    const conn = await sql.reserve()
    await applyMigrations(conn, previous)
    conn.release()
    const payload = (data: object) => JSON.stringify({ id: 'x', kind: 'k', created_at: '', text: 'budget_period "daily"', data })
    const rows: [string, string, string, string][] = [
      ['a1', `unpriced:m:${T}`, 'unpriced_model', payload({})],
      ['a2', `holds_expired:${T}`, 'holds_expired', payload({})],
      ['a3', `user_blocked:u:${T}`, 'user_blocked', payload({})],
      ['a4', 'key_revoked:k1', 'key_revoked', payload({})],
      ['a5', `key_expiring:k2:${T + 5 * DAY}`, 'key_expiring', payload({})],
      ['a6', `budget:user:u:${T}:100:80`, 'budget_threshold', payload({ scope: 'user', budget_period: 'monthly' })],
      ['a7', 'budget:user:u:0:100:80', 'budget_threshold', payload({ scope: 'user', budget_period: 'lifetime' })],
      ['a8', 'budget:key:k3:100:80', 'budget_threshold', payload({ scope: 'key' })],
    ]
    for (const [id, key, kind, body] of rows) {
      await sql`INSERT INTO alerts (id, dedupe_key, kind, subject, payload, created_at) VALUES (${id}, ${key}, ${kind}, NULL, ${body}, ${T})`
      await sql`INSERT INTO alert_deliveries (alert_id, webhook, status, next_attempt_at) VALUES (${id}, 'ops', 'delivered', ${T})`
    }
    await sql.close()

    const store = await PostgresStore.open(url)
    try {
      const until = await store.sql`SELECT id, dedupe_until FROM alerts ORDER BY id`
      expect(until.map((r: { id: string; dedupe_until: string | null }) => [r.id, r.dedupe_until === null ? null : Number(r.dedupe_until)])).toEqual([
        ['a1', T],
        ['a2', T],
        ['a3', T],
        ['a4', T],
        ['a5', T + 5 * DAY],
        ['a6', T + 62 * DAY],
        ['a7', null],
        ['a8', null],
      ])

      expect(await store.alerts.prune(NOW - 30 * DAY, () => false)).toBe(6)
      expect((await store.sql`SELECT id FROM alerts ORDER BY id`).map((r: { id: string }) => r.id)).toEqual(['a7', 'a8'])
      expect((await store.sql`SELECT alert_id FROM alert_deliveries ORDER BY alert_id`).map((r: { alert_id: string }) => r.alert_id)).toEqual(['a7', 'a8'])
    } finally {
      await store.close()
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
