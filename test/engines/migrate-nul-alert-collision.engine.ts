/**
 * README, "Moving an existing SQLite install": a NUL in text "(a model name from before the registry refused one)"
 * goes over as U+FFFD, and "two unpriced-model names that become one (a NUL and U+FFFD) are merged into one row".
 * The same two names were each raised as an `unpriced_model` alert in the interval they were asked for, under the
 * dedupe key `unpriced:<model>:<interval>` (src/alerts/watch.ts), and alerts.dedupe_key is unique in Postgres as in
 * SQLite. The copy writes both keys as `unpriced:mock:x\uFFFDy:<interval>`: Postgres refuses the second, and the
 * whole migration fails, for good, on an install the unpriced_models merge was made to let through.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { openDatabase } from '../../src/db/open'
import { tempDir } from '../support/gateway'
import { runMigrate } from '../support/cli'
import { startPostgres, type TestPostgres } from './support/postgres'

let pg: TestPostgres
beforeAll(async () => {
  pg = await startPostgres()
})
afterAll(async () => {
  await pg?.destroy()
})

test("an unpriced-model alert for a name with a NUL and one for the same name with U+FFFD do not fail the migration", async () => {
  const dir = tempDir()
  const file = join(dir, 'tollgate.db')
  const db = openDatabase(file)
  const now = Date.now()
  const interval = now - (now % 3_600_000)
  const alert = db.$client.prepare('INSERT INTO alerts (id, dedupe_key, kind, subject, payload, created_at, dedupe_until) VALUES (?, ?, ?, ?, ?, ?, ?)')
  for (const [id, model] of [['alert-nul', 'mock:x\u0000y'], ['alert-fffd', 'mock:x\ufffdy']] as const)
    alert.run(id, `unpriced:${model}:${interval}`, 'unpriced_model', model, JSON.stringify({ kind: 'unpriced_model', model }), now, interval + 7_200_000)
  db.$client.run(`INSERT INTO unpriced_models (model, requests, first_seen_at, last_seen_at) VALUES (?, 1, ?, ?), (?, 1, ?, ?)`, [
    'mock:x\u0000y', now, now, 'mock:x\ufffdy', now, now,
  ])
  db.$client.close()
  const url = await pg.database('rt_ja_nul_alerts')
  try {
    const done = await runMigrate({ TOLLGATE_DB: file }, '--to', url)
    expect({ code: done.code, output: done.output.trim().split('\n')[0] }).toEqual({ code: 0, output: `migrated ${file} to Postgres:` })
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}, 60_000)

test("the earliest of the colliding alerts is kept, the other's deliveries moved onto it (one per webhook), both counted as merged", async () => {
  const dir = tempDir()
  const file = join(dir, 'tollgate.db')
  const db = openDatabase(file)
  const now = Date.now()
  const interval = now - (now % 3_600_000)
  const alert = db.$client.prepare('INSERT INTO alerts (id, dedupe_key, kind, subject, payload, created_at, dedupe_until) VALUES (?, ?, ?, ?, ?, ?, ?)')
  // Read first (rowid) but raised later: the NUL one, raised first, is kept.
  for (const [id, model, at] of [['alert-fffd', 'mock:x\ufffdy', now - 1000], ['alert-nul', 'mock:x\u0000y', now - 2000]] as const)
    alert.run(id, `unpriced:${model}:${interval}`, 'unpriced_model', model, JSON.stringify({ kind: 'unpriced_model', model }), at, interval + 7_200_000)
  const delivery = db.$client.prepare('INSERT INTO alert_deliveries (alert_id, webhook, status, attempts, next_attempt_at, delivered_at) VALUES (?, ?, ?, ?, ?, ?)')
  delivery.run('alert-fffd', 'https://a.example/hook', 'pending', 0, now, null)
  delivery.run('alert-fffd', 'https://b.example/hook', 'pending', 0, now, null)
  delivery.run('alert-nul', 'https://a.example/hook', 'delivered', 1, now - 2000, now - 1500)
  db.$client.close()
  const url = await pg.database('nul_alerts_deliveries')
  try {
    const done = await runMigrate({ TOLLGATE_DB: file }, '--to', url)
    if (done.code !== 0) console.error(done.output)
    expect(done.code).toBe(0)
    expect(done.output).toMatch(/alerts +1 .*1 merged into the row of the name it became/)
    expect(done.output).toMatch(/alert_deliveries +2 .*1 merged into the row of the name it became/)
    const sql = new Bun.SQL(url)
    try {
      expect([...(await sql`SELECT id, dedupe_key FROM alerts`)]).toEqual([{ id: 'alert-nul', dedupe_key: `unpriced:mock:x\ufffdy:${interval}` }])
      const deliveries = await sql`SELECT alert_id, webhook, status FROM alert_deliveries ORDER BY webhook`
      expect([...deliveries]).toEqual([
        { alert_id: 'alert-nul', webhook: 'https://a.example/hook', status: 'delivered' },
        { alert_id: 'alert-nul', webhook: 'https://b.example/hook', status: 'pending' },
      ])
    } finally {
      await sql.close()
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}, 60_000)
