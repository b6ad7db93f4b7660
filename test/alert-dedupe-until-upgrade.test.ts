/**
 * alerts.dedupe_until (until when a check may raise an alert again: the audit retention's prune keeps it until then)
 * came with an upgrade. Alerts written before it are filled in by the migration from what they say: an event's or an
 * interval's at once (their dedupe key names a moment), an expiry warning's at the key's expiry (in its dedupe key),
 * a period budget's threshold 62 days on (its period and the next, at most two months), and none (kept) for a
 * lifetime budget's or a key's ceiling, which a check would raise again as long as the spend stays past it.
 */
import { expect, test } from 'bun:test'
import { Database } from 'bun:sqlite'
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { drizzle } from 'drizzle-orm/bun-sqlite'
import { migrate } from 'drizzle-orm/bun-sqlite/migrator'
import { MIGRATIONS, openDatabase } from '../src/db/open'
import { tempDir } from './support/gateway'

const DAY = 86_400_000
const T = Date.UTC(2026, 10, 2)

test('alerts written before the upgrade get the time their dedupe key is needed until', () => {
  const dir = tempDir()
  try {
    const previous = join(dir, 'drizzle-previous')
    cpSync(MIGRATIONS, previous, { recursive: true })
    const journal = JSON.parse(readFileSync(join(previous, 'meta', '_journal.json'), 'utf8'))
    for (const e of journal.entries.filter((e: { tag: string }) => e.tag >= '0015')) rmSync(join(previous, `${e.tag}.sql`))
    journal.entries = journal.entries.filter((e: { tag: string }) => e.tag < '0015')
    writeFileSync(join(previous, 'meta', '_journal.json'), JSON.stringify(journal))
    const path = join(dir, 'tollgate.db')
    const client = new Database(path, { create: true })
    migrate(drizzle({ client }), { migrationsFolder: previous })
    const insert = client.prepare('INSERT INTO alerts (id, dedupe_key, kind, subject, payload, created_at) VALUES (?, ?, ?, NULL, ?, ?)')
    const payload = (data: object) => JSON.stringify({ id: 'x', kind: 'k', created_at: '', text: 'budget_period "daily"', data })
    insert.run('a1', `unpriced:m:${T}`, 'unpriced_model', payload({}), T)
    insert.run('a2', `holds_expired:${T}`, 'holds_expired', payload({}), T)
    insert.run('a3', `user_blocked:u:${T}`, 'user_blocked', payload({}), T)
    insert.run('a4', 'key_revoked:k1', 'key_revoked', payload({}), T)
    insert.run('a5', `key_expiring:k2:${T + 5 * DAY}`, 'key_expiring', payload({}), T)
    insert.run('a6', `budget:user:u:${T}:100:80`, 'budget_threshold', payload({ scope: 'user', budget_period: 'monthly' }), T)
    insert.run('a7', 'budget:user:u:0:100:80', 'budget_threshold', payload({ scope: 'user', budget_period: 'lifetime' }), T)
    insert.run('a8', 'budget:key:k3:100:80', 'budget_threshold', payload({ scope: 'key' }), T)
    client.close()

    const db = openDatabase(path)
    try {
      const rows = db.$client.query('SELECT id, dedupe_until FROM alerts ORDER BY id').all()
      expect(rows).toEqual([
        { id: 'a1', dedupe_until: T },
        { id: 'a2', dedupe_until: T },
        { id: 'a3', dedupe_until: T },
        { id: 'a4', dedupe_until: T },
        { id: 'a5', dedupe_until: T + 5 * DAY },
        { id: 'a6', dedupe_until: T + 62 * DAY },
        { id: 'a7', dedupe_until: null },
        { id: 'a8', dedupe_until: null },
      ])
    } finally {
      db.$client.close()
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
