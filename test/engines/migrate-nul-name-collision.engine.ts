/**
 * `tollgate migrate` writes a NUL in a model name as U+FFFD (as the Postgres store writes it). An install whose
 * unpriced_models holds both an older version's `mock:x\0y` and a later `mock:x\uFFFDy` (U+FFFD is no control
 * character: the registry resolves it) then holds two rows that become one primary key in Postgres, which refused
 * the whole migration. The Postgres store counts both names into the one row (storableText before its upsert), and
 * so does the copy: one row, the requests added up, the first and last sightings kept, in a page or across pages.
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

test('an unpriced model name with a NUL and the same name with U+FFFD are migrated as one row, not a refused migration', async () => {
  const dir = tempDir()
  const file = join(dir, 'tollgate.db')
  const db = openDatabase(file)
  const now = Date.now()
  db.$client.run(`INSERT INTO users (id, spend, reserved, period_start, created_at, updated_at) VALUES ('team', 0, 0, 0, ?, ?)`, [now, now])
  db.$client.run(`INSERT INTO unpriced_models (model, requests, first_seen_at, last_seen_at) VALUES (?, 3, ?, ?), (?, 2, ?, ?)`, [
    'mock:x\u0000y', now - 5000, now - 4000, 'mock:x\ufffdy', now - 3000, now - 1000,
  ])
  db.$client.close()
  const url = await pg.database('nul_collision')
  try {
    const done = await runMigrate({ TOLLGATE_DB: file }, '--to', url)
    if (done.code !== 0) console.error(done.output)
    expect({ code: done.code, refused: /refused|duplicate/.test(done.output) }).toEqual({ code: 0, refused: false })
    expect(done.output).toMatch(/unpriced_models +1 .*1 merged into the row of the name it became/)
    const sql = new Bun.SQL(url)
    try {
      const rows = await sql`SELECT model, requests::int AS requests, first_seen_at::bigint AS first, last_seen_at::bigint AS last FROM unpriced_models`
      expect([...rows].map((r: any) => ({ ...r, first: Number(r.first), last: Number(r.last) }))).toEqual([
        { model: 'mock:x\ufffdy', requests: 5, first: now - 5000, last: now - 1000 },
      ])
      const [{ n }] = await sql`SELECT count(*)::int AS n FROM users`
      expect(n).toBe(1)
    } finally {
      await sql.close()
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}, 60_000)

test('the two names are merged when they are read in different pages of the copy', async () => {
  const dir = tempDir()
  const file = join(dir, 'tollgate.db')
  const db = openDatabase(file)
  const now = Date.now()
  const insert = db.$client.prepare('INSERT INTO unpriced_models (model, requests, first_seen_at, last_seen_at) VALUES (?, ?, ?, ?)')
  insert.run('mock:x\u0000y', 3, now - 5000, now - 4000)
  for (let i = 0; i < 600; i++) insert.run(`mock:filler-${i}`, 1, now, now)
  insert.run('mock:x\ufffdy', 2, now - 6000, now - 1000)
  db.$client.close()
  const url = await pg.database('nul_collision_pages')
  try {
    const done = await runMigrate({ TOLLGATE_DB: file }, '--to', url)
    if (done.code !== 0) console.error(done.output)
    expect(done.code).toBe(0)
    expect(done.output).toMatch(/unpriced_models +601 .*1 merged into the row of the name it became/)
    const sql = new Bun.SQL(url)
    try {
      const rows = await sql`SELECT requests::int AS requests, first_seen_at::bigint AS first, last_seen_at::bigint AS last FROM unpriced_models WHERE model = ${'mock:x\ufffdy'}`
      expect([...rows].map((r: any) => ({ requests: r.requests, first: Number(r.first), last: Number(r.last) }))).toEqual([{ requests: 5, first: now - 6000, last: now - 1000 }])
    } finally {
      await sql.close()
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}, 60_000)
