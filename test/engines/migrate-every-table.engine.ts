/**
 * Mutation guard: `tollgate migrate` copies EVERY table, every column, row for row (README: "every
 * row of every table"), and every id sequence carries on after the copied ids. migrate.engine.ts compares users,
 * usage and price history through the API, so a table left out of the copy list (the request log the Audit page
 * reads, refusal counts, console sessions, unpriced models, alerts), or the request log's sequence left at 1,
 * went unseen. This compares the SQLite file and the Postgres copy table by table, and has the migrated gateway
 * write request-log rows after the copied ones.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { Database } from 'bun:sqlite'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import OpenAI from 'openai'
import { startMockProvider, type MockProvider } from '../support/mock-provider'
import { spawnGateway, tempDir } from '../support/gateway'
import { runMigrate } from '../support/cli'
import { waitFor } from '../support/wait-for'
import { startPostgres, type TestPostgres } from './support/postgres'

let pg: TestPostgres
let mock: MockProvider
beforeAll(async () => {
  pg = await startPostgres()
  mock = startMockProvider()
})
afterAll(async () => {
  mock?.stop()
  await pg?.destroy()
})

/** Every table the SQLite schema holds that `migrate` must carry (the daily rollups are the trigger's, rebuilt from usage). */
const TABLES = ['users', 'api_keys', 'prices', 'reservations', 'usage', 'api_request_log', 'stored_responses', 'alerts', 'alert_deliveries', 'console_sessions', 'refusal_counts', 'unpriced_models']

const canonical = (v: unknown): unknown =>
  Array.isArray(v) ? v.map(canonical) : v && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical((v as any)[k])])) : v
/** A value as both stores spell it: numbers and bigints as text, booleans as 0/1, JSON by its content. */
function norm(v: unknown): string | null {
  if (v === null || v === undefined) return null
  if (typeof v === 'boolean') return v ? '1' : '0'
  if (v instanceof Date) return String(v.getTime())
  if (typeof v === 'object') return JSON.stringify(canonical(v))
  if (typeof v === 'string' && /^[[{]/.test(v)) {
    try {
      return JSON.stringify(canonical(JSON.parse(v)))
    } catch {}
  }
  return String(v)
}
const rowsOf = (rows: Record<string, unknown>[], columns: string[]) =>
  rows.map((r) => JSON.stringify(columns.map((c) => [c, norm(r[c])]))).sort()

test('every table of the SQLite file is in Postgres, column for column, and the request log carries on after its ids', async () => {
  const dir = tempDir()
  const file = join(dir, 'tollgate.db')
  const sqlite = await spawnGateway({ mock, dbPath: file })
  let secret: string
  try {
    ;({ secret } = await sqlite.userWithKey({ id: 'team', max_budget: 5, budget_period: 'monthly' }, { name: 'ci' }))
    await sqlite.admin('POST', '/v1/pricing', { model: 'mock:gpt-mock', input_per_million: 2, output_per_million: 3 })
    const client = new OpenAI({ baseURL: `${sqlite.url}/v1`, apiKey: secret, maxRetries: 0 })
    for (let i = 0; i < 3; i++) await client.chat.completions.create({ model: 'mock:gpt-mock', messages: [{ role: 'user', content: `hi ${i}` }] })
    // Refused: an unpriced model (unpriced_models, refusal_counts) and a bad key (refusal_counts, the request log).
    await client.chat.completions.create({ model: 'mock:not-priced', messages: [{ role: 'user', content: 'x' }] }).catch(() => {})
    await fetch(`${sqlite.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: 'Bearer sk-nope', 'content-type': 'application/json' }, body: '{}' })
    await sqlite.settled()
  } finally {
    await sqlite.stop()
  }
  // A console session (signed in, not yet expired), as the console writes one.
  const now = Date.now()
  const db = new Database(file)
  db.run(`INSERT INTO console_sessions (id, kind, key_id, key_hash, created_at, last_seen_at, expires_at) VALUES ('sess-hash-1', 'admin', NULL, NULL, ?, ?, ?)`, [now, now, now + 3_600_000])
  // A period that has rolled: the ended period as it ended, which the alert check judges (as a roll writes it).
  db.run(`UPDATE users SET last_period_start = period_start - 2592000000, last_period_spend = 4200000, last_period_budget = 5000000, last_period_budget_set_at = ? WHERE id = 'team'`, [now - 86_400_000])
  const source: Record<string, { columns: string[]; rows: string[] }> = {}
  for (const t of TABLES) {
    const columns = (db.query(`PRAGMA table_info(${t})`).all() as { name: string }[]).map((c) => c.name)
    source[t] = { columns, rows: rowsOf(db.query(`SELECT * FROM ${t}`).all() as Record<string, unknown>[], columns) }
  }
  db.close()
  // The install used every table this test is about.
  for (const t of ['users', 'api_keys', 'usage', 'api_request_log', 'console_sessions', 'refusal_counts', 'unpriced_models']) expect({ t, rows: source[t]!.rows.length > 0 }).toEqual({ t, rows: true })
  const maxLogId = Math.max(...source.api_request_log!.rows.map((r) => Number((JSON.parse(r) as [string, string][]).find(([c]) => c === 'id')![1])))

  const url = await pg.database('every_table')
  try {
    const done = await runMigrate({ TOLLGATE_DB: file }, '--to', url)
    expect(done.code).toBe(0)
    const sql = new Bun.SQL(url)
    try {
      for (const t of TABLES) {
        const copied = rowsOf((await sql.unsafe(`SELECT * FROM ${t}`)) as Record<string, unknown>[], source[t]!.columns)
        expect({ table: t, rows: copied }).toEqual({ table: t, rows: source[t]!.rows })
      }
      // The id sequences carry on after the highest copied id (README: "the id sequences carry on after them").
      const [{ next }] = await sql`SELECT nextval(pg_get_serial_sequence('api_request_log', 'id'))::int AS next`
      expect({ table: 'api_request_log', next }).toEqual({ table: 'api_request_log', next: maxLogId + 1 })
    } finally {
      await sql.close()
    }

    const gw = await spawnGateway({ mock, env: { TOLLGATE_DATABASE_URL: url } })
    try {
      const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: secret!, maxRetries: 0 })
      await client.chat.completions.create({ model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'after' }] })
      await gw.settled()
      // The new request's log row is written, after the copied ids (not refused as a duplicate id 1).
      const logged = await waitFor(10_000, async () => {
        await gw.settled()
        const rows = (await gw.query(`SELECT id::bigint AS id FROM api_request_log WHERE id > ?`, maxLogId)) as { id: unknown }[]
        return rows.length > 0
      })
      expect(logged).toBe(true)
      const all = (await gw.query(`SELECT count(*)::int AS n FROM api_request_log`)) as { n: number }[]
      expect(all[0]!.n).toBeGreaterThan(source.api_request_log!.rows.length)
    } finally {
      await gw.stop()
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
