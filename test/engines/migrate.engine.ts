/**
 * `tollgate migrate --to postgres://…` (or TOLLGATE_DATABASE_URL): an install used on SQLite, copied to Postgres, serves on as before:
 * the same keys, every usage row, every price row (history included), the budgets as they stood.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import OpenAI from 'openai'
import { startMockProvider, type MockProvider } from '../support/mock-provider'
import { openDatabase } from '../../src/db/open'
import { spawnGateway, tempDir } from '../support/gateway'
import { runMigrate } from '../support/cli'
import { startPostgres, type TestPostgres } from './support/postgres'
import { expectRollupsEqualRaw } from './support/rollups'

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

test('a SQLite install migrated to Postgres keeps every key, usage row and price, and serves on', async () => {
  const dir = tempDir()
  const file = join(dir, 'tollgate.db')
  const sqlite = await spawnGateway({ mock, dbPath: file })
  let secret: string
  let before: { usage: unknown[]; users: unknown[]; history: unknown[] }
  try {
    ;({ secret } = await sqlite.userWithKey({ id: 'team', max_budget: 5, budget_period: 'monthly' }, { name: 'ci', max_budget: 2 }))
    await sqlite.userWithKey({ id: 'other', max_budget: null })
    await sqlite.admin('POST', '/v1/pricing', { model: 'mock:gpt-mock', input_per_million: 2, output_per_million: 3 })
    const longContext = { input_per_million: 2.5, output_per_million: 15, service_tiers: { long_context: 2, long_context_output: 1.5 }, long_context_above_tokens: 272_000, media_part_tokens: 48_169, context_window_tokens: 1_047_576, template_overhead_tokens: 200 }
    expect((await sqlite.admin('POST', '/v1/pricing', { model: 'mock:gpt-long', ...longContext })).status).toBe(201)
    const client = new OpenAI({ baseURL: `${sqlite.url}/v1`, apiKey: secret })
    for (let i = 0; i < 5; i++) await client.chat.completions.create({ model: 'mock:gpt-mock', messages: [{ role: 'user', content: `hi ${i}` }] })
    await sqlite.settled()
    before = {
      usage: (await sqlite.admin('GET', '/v1/usage?limit=100')).body.data,
      users: (await sqlite.admin('GET', '/v1/users')).body.data,
      history: (await sqlite.admin('GET', '/v1/pricing/history')).body.data,
    }
    expect(before.usage.length).toBe(5)
    expect(before.history.length).toBe(3)
  } finally {
    // Stopped (SIGTERM: a clean stop), the gateway writes what is queued and closes its file.
    await sqlite.stop()
  }
  const url = await pg.database('migrated')
  try {
    const refused = await runMigrate({ TOLLGATE_DB: file }, '--to', 'mysql://nope')
    expect(refused.code).toBe(2)
    const done = await runMigrate({ TOLLGATE_DB: file }, '--to', url)
    expect(done.output).toContain('usage              5')
    expect(done.code).toBe(0)
    // Twice is refused: the target is not empty, and nothing is written.
    const again = await runMigrate({ TOLLGATE_DB: file }, '--to', url)
    expect([again.code, again.output.includes('not empty')]).toEqual([1, true])

    const gw = await spawnGateway({ mock, env: { TOLLGATE_DATABASE_URL: url } })
    try {
      expect((await gw.admin('GET', '/v1/usage?limit=100')).body.data).toEqual(before.usage)
      expect((await gw.admin('GET', '/v1/users')).body.data).toEqual(before.users)
      expect((await gw.admin('GET', '/v1/pricing/history')).body.data).toEqual(before.history)
      // Every price column is copied, the long-context threshold, the media bound and the context window too.
      expect((await gw.admin('GET', '/v1/pricing/mock:gpt-long')).body).toMatchObject({ service_tiers: { long_context: 2, long_context_output: 1.5 }, long_context_above_tokens: 272_000, media_part_tokens: 48_169, context_window_tokens: 1_047_576, template_overhead_tokens: 200 })
      // The same secret works; new rows carry on after the copied ids.
      const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: secret! })
      await client.chat.completions.create({ model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'after' }] })
      await gw.settled()
      const usage = (await gw.admin('GET', '/v1/usage?limit=100')).body.data as Array<{ id: number }>
      expect(usage.length).toBe(6)
      expect(usage[0]!.id).toBeGreaterThan(Math.max(...(before.usage as Array<{ id: number }>).map((u) => u.id)))
      const priced = await gw.admin('POST', '/v1/pricing', { model: 'mock:gpt-mock', input_per_million: 4, output_per_million: 5 })
      expect(priced.status).toBe(201)
      // The daily rollups were summed by the trigger as the copy's rows went in, and kept by the settlement after.
      const sql = new Bun.SQL(url)
      await expectRollupsEqualRaw(sql, 6).finally(() => sql.close())
      expect((await gw.admin('GET', '/v1/usage/summary')).body.totals.requests).toBe(6)
    } finally {
      await gw.stop()
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('without --to, the target is TOLLGATE_DATABASE_URL: the URL and its password stay out of the arguments', async () => {
  const dir = tempDir()
  const file = join(dir, 'tollgate.db')
  const db = openDatabase(file)
  const now = Date.now()
  db.$client.run(`INSERT INTO users (id, spend, reserved, period_start, created_at, updated_at) VALUES ('team', 0, 0, 0, ?, ?)`, [now, now])
  db.$client.close()
  const url = await pg.database('from_environment')
  try {
    const done = await runMigrate({ TOLLGATE_DB: file, TOLLGATE_DATABASE_URL: url })
    expect([done.code, done.output.includes('users              1')]).toEqual([0, true])
    const sql = new Bun.SQL(url)
    try {
      expect((await sql`SELECT id FROM users`).map((r: { id: string }) => r.id)).toEqual(['team'])
    } finally {
      await sql.close()
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('a table of several pages is copied whole, in id order, and its id sequence carries on after the highest id', async () => {
  const dir = tempDir()
  const file = join(dir, 'tollgate.db')
  const db = openDatabase(file)
  const now = Date.now()
  db.$client.run(`INSERT INTO users (id, spend, reserved, period_start, created_at, updated_at) VALUES ('team', 0, 0, 0, ?, ?)`, [now, now])
  // 1,201 rows (the copy reads 500 at a time), ids with gaps as deletes and restores leave them.
  const insert = db.$client.prepare(
    `INSERT INTO usage (id, request_id, created_at, user_id, model, provider, endpoint, cost, reserved, status) VALUES (?, ?, ?, 'team', 'mock:gpt-mock', 'mock', 'chat', ?, ?, 'ok')`,
  )
  const ids = Array.from({ length: 1_201 }, (_, i) => 3 * i + 7)
  db.$client.transaction(() => ids.forEach((id) => insert.run(id, `req-${id}`, now, id, id)))()
  db.$client.close()

  const url = await pg.database('pages')
  try {
    const done = await runMigrate({ TOLLGATE_DB: file }, '--to', url)
    expect([done.code, done.output.includes('usage              1201')]).toEqual([0, true])
    const sql = new Bun.SQL(url)
    try {
      const rows = await sql`SELECT id::int AS id, cost::int AS cost FROM usage ORDER BY id`
      expect(rows.map((r: { id: number }) => r.id)).toEqual(ids)
      expect(rows.every((r: { id: number; cost: number }) => r.cost === r.id)).toBe(true)
      const [{ next }] = await sql`SELECT nextval(pg_get_serial_sequence('usage', 'id'))::int AS next`
      expect(next).toBe(ids.at(-1)! + 1)
    } finally {
      await sql.close()
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('a stored response id is copied with every size it records: tokens, media parts and bytes (null kept null), and whether it holds audio (unknown kept unknown)', async () => {
  const dir = tempDir()
  const file = join(dir, 'tollgate.db')
  const db = openDatabase(file)
  const now = Date.now()
  db.$client.run(`INSERT INTO users (id, spend, reserved, period_start, created_at, updated_at) VALUES ('team', 0, 0, 0, ?, ?)`, [now, now])
  const insert = db.$client.prepare(
    `INSERT INTO stored_responses (id, kind, user_id, provider, model, context_tokens, media_parts, context_bytes, holds_audio, created_at) VALUES (?, 'response', 'team', 'mock', 'mock:gpt-mock', ?, ?, ?, ?, ?)`,
  )
  insert.run('resp_sized', 848, 1, 7052, 1, now)
  insert.run('resp_old', 1501, null, null, 0, now)
  insert.run('resp_unknown', 990, 1, 1000, null, now)
  db.$client.close()

  const url = await pg.database('stored')
  try {
    const done = await runMigrate({ TOLLGATE_DB: file }, '--to', url)
    expect(done.code).toBe(0)
    const sql = new Bun.SQL(url)
    try {
      const rows = await sql`SELECT id, context_tokens::int AS context_tokens, media_parts, context_bytes::int AS context_bytes, holds_audio FROM stored_responses ORDER BY id`
      expect([...rows]).toEqual([
        { id: 'resp_old', context_tokens: 1501, media_parts: null, context_bytes: null, holds_audio: false },
        { id: 'resp_sized', context_tokens: 848, media_parts: 1, context_bytes: 7052, holds_audio: true },
        { id: 'resp_unknown', context_tokens: 990, media_parts: 1, context_bytes: 1000, holds_audio: null },
      ])
    } finally {
      await sql.close()
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
