/**
 * `tollgate migrate` over rows an older version could write to SQLite that Postgres cannot hold as they are:
 * a model name with a NUL (in usage rows and unpriced_models, before the model registry refused one) and a
 * latency past what latency_ms (integer) holds (the SQLite sweeper recorded a hold's age, unbounded). Every
 * row is carried over as the Postgres store would have written it (NUL as U+FFFD, latency at most 2^31 - 1
 * ms), and the report says how many were changed. Any other row Postgres refuses fails the migration in one
 * line that names the table, with nothing written.
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

test('a usage row and an unpriced model whose model name holds a NUL (written by an older version) are migrated, not a failed migration', async () => {
  const dir = tempDir()
  const file = join(dir, 'tollgate.db')
  const db = openDatabase(file)
  const now = Date.now()
  db.$client.run(`INSERT INTO users (id, spend, reserved, period_start, created_at, updated_at) VALUES ('team', 1234, 0, 0, ?, ?)`, [now, now])
  db.$client.run(
    `INSERT INTO usage (request_id, created_at, user_id, key_id, model, provider, endpoint, cost, reserved, status)
     VALUES ('req-1', ?, 'team', NULL, 'mock:gpt-mock', 'mock', 'chat', 1000, 2000, 'ok'),
            ('req-2', ?, 'team', NULL, ?, 'mock', 'chat', 234, 500, 'ok')`,
    [now, now, 'mock:x\u0000y'],
  )
  db.$client.run(`INSERT INTO unpriced_models (model, requests, first_seen_at, last_seen_at) VALUES (?, 3, ?, ?)`, ['mock:x\u0000y', now, now])
  db.$client.close()

  const url = await pg.database('nul_rows')
  try {
    const done = await runMigrate({ TOLLGATE_DB: file }, '--to', url)
    if (done.code !== 0) console.error(done.output.match(/(invalid byte sequence[^\n]*|code: "[^"]*"|errno[^\n]*)/g))
    expect({ code: done.code, usage: done.output.includes('usage              2') }).toEqual({ code: 0, usage: true })
    const sql = new Bun.SQL(url)
    try {
      const [{ n, cost }] = await sql`SELECT count(*)::int AS n, sum(cost)::int AS cost FROM usage`
      // Every charged micro-USD of the file is in Postgres: the user's spend (1234) is still backed by its usage rows.
      expect({ n, cost }).toEqual({ n: 2, cost: 1234 })
      const models = await sql`SELECT model FROM unpriced_models`
      expect(models.length).toBe(1)
      expect(models[0].model).toBe('mock:x\ufffdy')
      const [{ model }] = await sql`SELECT model FROM usage WHERE request_id = 'req-2'`
      expect(model).toBe('mock:x\ufffdy')
      expect(done.output).toContain('usage              2  (changed to fit Postgres: 1 with a NUL in its text, written as U+FFFD)')
      expect(done.output).toContain('unpriced_models    1  (changed to fit Postgres: 1 with a NUL in its text, written as U+FFFD)')
    } finally {
      await sql.close()
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('a usage row of a hold the SQLite sweeper charged after 30 days (latency_ms 2,592,000,000) is migrated, not a failed migration', async () => {
  const dir = tempDir()
  const file = join(dir, 'tollgate.db')
  const db = openDatabase(file)
  const now = Date.now()
  db.$client.run(`INSERT INTO users (id, spend, reserved, period_start, created_at, updated_at) VALUES ('team', 1500, 0, 0, ?, ?)`, [now, now])
  // What SQLite's sweeper writes for a hold it found 30 days after it was taken (expiredOutcome: latency = now - created_at).
  db.$client.run(
    `INSERT INTO usage (request_id, created_at, user_id, key_id, model, provider, endpoint, cost, reserved, status, latency_ms)
     VALUES ('req-1', ?, 'team', NULL, 'mock:gpt-mock', 'mock', 'chat', 1000, 1000, 'expired', ?),
            ('req-2', ?, 'team', NULL, 'mock:gpt-mock', 'mock', 'chat', 500, 700, 'ok', 12)`,
    [now, 30 * 86_400_000, now],
  )
  db.$client.close()

  const url = await pg.database('old_sweep_rows')
  try {
    const done = await runMigrate({ TOLLGATE_DB: file }, '--to', url)
    if (done.code !== 0) console.error(done.output.match(/(out of range[^\n]*|errno[^\n]*)/g))
    expect({ code: done.code, usage: done.output.includes('usage              2') }).toEqual({ code: 0, usage: true })
    const sql = new Bun.SQL(url)
    try {
      const [{ n, cost }] = await sql`SELECT count(*)::int AS n, sum(cost)::int AS cost FROM usage`
      expect({ n, cost }).toEqual({ n: 2, cost: 1500 })
      const latencies = await sql`SELECT latency_ms FROM usage ORDER BY request_id`
      expect(latencies.map((r: { latency_ms: number }) => r.latency_ms)).toEqual([2 ** 31 - 1, 12])
      expect(done.output).toContain('usage              2  (changed to fit Postgres: 1 with a latency outside 0–2147483647 ms, written as its bound)')
    } finally {
      await sql.close()
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('a row Postgres refuses for another reason fails the migration in one line naming its table, and nothing is written', async () => {
  const dir = tempDir()
  const file = join(dir, 'tollgate.db')
  const db = openDatabase(file)
  const now = Date.now()
  db.$client.run(`INSERT INTO users (id, spend, reserved, period_start, created_at, updated_at) VALUES ('team', 0, 0, 0, ?, ?)`, [now, now])
  // An HTTP status no request has, past what api_request_log.status (integer) holds: SQLite keeps it.
  db.$client.run(
    `INSERT INTO api_request_log (created_at, request_id, method, route, status, latency_ms) VALUES (?, 'req-1', 'GET', '/v1/models', ?, 3)`,
    [now, 2 ** 32],
  )
  db.$client.close()

  const url = await pg.database('refused_rows')
  try {
    const done = await runMigrate({ TOLLGATE_DB: file }, '--to', url)
    expect(done.code).toBe(1)
    expect(done.output.trim().split('\n')).toEqual([expect.stringMatching(/^tollgate: api_request_log: Postgres refused rows 1–1: .*\(SQLSTATE 22003\); nothing was written$/)])
    const sql = new Bun.SQL(url)
    try {
      const [{ n }] = await sql`SELECT count(*)::int AS n FROM users`
      expect(n).toBe(0)
    } finally {
      await sql.close()
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
