/**
 * Mutation guard: an install from before the rollups (0004) whose usage rows hold a provider's token
 * counts as they came (a version before 77360a0) is capped before 0004's backfill sums them (counts-before-rollups.ts),
 * or SQLite's sum() overflows and the gateway refuses to start. upgrade-enormous-token-counts.test.ts only records
 * enormous *prompt* counts: dropping the cap of `cached_tokens` (or of `completion_tokens`) from that UPDATE went
 * unnoticed. Every count 0004 sums must be capped.
 */
import { afterAll, expect, test } from 'bun:test'
import { Database } from 'bun:sqlite'
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { drizzle } from 'drizzle-orm/bun-sqlite'
import { migrate } from 'drizzle-orm/bun-sqlite/migrator'
import { MIGRATIONS, openDatabase } from '../src/db/open'
import { tempDir } from './support/gateway'

const dir = tempDir()
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** A database file as the shipped migrations before `tag` left it. */
function migratedBefore(tag: string, name: string): Database {
  const previous = join(dir, `drizzle-before-${tag}`)
  cpSync(MIGRATIONS, previous, { recursive: true })
  const journal = JSON.parse(readFileSync(join(previous, 'meta', '_journal.json'), 'utf8'))
  for (const e of journal.entries.filter((e: { tag: string }) => e.tag >= tag)) rmSync(join(previous, `${e.tag}.sql`))
  journal.entries = journal.entries.filter((e: { tag: string }) => e.tag < tag)
  writeFileSync(join(previous, 'meta', '_journal.json'), JSON.stringify(journal))
  const client = new Database(join(dir, name), { create: true })
  migrate(drizzle({ client }), { migrationsFolder: previous })
  return client
}

test('an install that recorded 5e18 completion tokens twice and 5e18 cached tokens twice (other rows) before the rollups opens, its rollups summing a billion each', () => {
  const client = migratedBefore('0004', 'unsummed-cached.db')
  const now = Date.now()
  client.run(`INSERT INTO users (id, spend, reserved, period_start, created_at, updated_at) VALUES ('team', 2000, 0, 0, ?, ?)`, [now, now])
  client.run(
    `INSERT INTO usage (request_id, created_at, user_id, model, provider, endpoint, prompt_tokens, completion_tokens, cached_tokens, cost, reserved, status)
     VALUES ('req-1', ?, 'team', 'plain:a', 'plain', 'chat', 1, 5000000000000000000, 0, 1000, 1000, 'ok'),
            ('req-2', ?, 'team', 'plain:b', 'plain', 'chat', 1, 5000000000000000000, 0, 1000, 1000, 'ok'),
            ('req-3', ?, 'team', 'plain:a', 'plain', 'chat', 1, 0, 5000000000000000000, 1000, 1000, 'ok'),
            ('req-4', ?, 'team', 'plain:b', 'plain', 'chat', 1, 0, 5000000000000000000, 1000, 1000, 'ok')`,
    [now, now, now, now],
  )
  client.close()
  let opened: ReturnType<typeof openDatabase> | undefined
  let error: unknown
  try {
    opened = openDatabase(join(dir, 'unsummed-cached.db'))
  } catch (e) {
    error = e
  }
  try {
    expect(String(error ?? 'opened')).toBe('opened')
    const sums = (table: string) =>
      opened!.$client.query(`SELECT sum(completion_tokens) AS completion_tokens, sum(cached_tokens) AS cached_tokens, sum(requests) AS requests FROM ${table}`).get()
    for (const table of ['usage_daily', 'usage_daily_models', 'usage_daily_users'])
      expect({ table, sums: sums(table) }).toEqual({ table, sums: { completion_tokens: 2_000_000_000, cached_tokens: 2_000_000_000, requests: 4 } })
  } finally {
    opened?.$client.close()
  }
})
