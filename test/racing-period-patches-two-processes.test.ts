/**
 * Two PATCH /v1/users/:id of `budget_period` racing on SQLite, from two processes on one file (a worker group, or
 * two gateways sharing it): A sets `daily`, B (sent while A holds the write lock) sets `monthly` back. Whether a
 * PATCH changes the kind of period is judged against the row read under the write lock: B, whose process could read
 * `monthly` before A committed, must not take its change for "no change", leaving the user daily and answering 200
 * with `daily`. A trigger that spins through a cross join on A's UPDATE to `daily` holds A's transaction, with the
 * lock, for about a second, so that B is sent inside it, deterministically.
 * The same on Postgres: test/engines/postgres-racing-period-patches.engine.ts.
 */
import { Database } from 'bun:sqlite'
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { spawnGateway, tempDir, type SpawnedGateway } from './support/gateway'

let dir: string
let dbPath: string
let a: SpawnedGateway
let b: SpawnedGateway
beforeAll(async () => {
  dir = tempDir()
  dbPath = join(dir, 'shared.db')
  a = await spawnGateway({ dbPath })
  b = await spawnGateway({ dbPath })
}, 60_000)
afterAll(async () => {
  await a?.stop()
  await b?.stop()
  rmSync(dir, { recursive: true, force: true })
})

/** Whether some connection holds the file's write lock: a BEGIN IMMEDIATE that may not wait is refused. */
function writeLocked(db: Database): boolean {
  try {
    db.run('BEGIN IMMEDIATE')
    db.run('ROLLBACK')
    return false
  } catch (error) {
    if ((error as { code?: string }).code === 'SQLITE_BUSY') return true
    throw error
  }
}

test('SQLite, two processes: of two racing PATCHes of budget_period the later one is not lost, and each answers the period it set', async () => {
  expect((await a.admin('POST', '/v1/users', { id: 'racer', max_budget: 10, budget_period: 'monthly' })).status).toBe(201)
  const db = new Database(dbPath)
  try {
    // The setup waits out the gateways' own writes (log rows written just after their answers: a CI run on a busy
    // machine met one); the lock checks below may not wait.
    db.run('PRAGMA busy_timeout = 10000')
    db.run('CREATE TABLE spin (x INTEGER)')
    db.run('WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n LIMIT 6000) INSERT INTO spin SELECT x FROM n')
    db.run(`CREATE TRIGGER slow_daily BEFORE UPDATE ON users WHEN NEW.budget_period = 'daily'
      BEGIN SELECT count(*) FROM spin s1, spin s2; END`)
    db.run('PRAGMA busy_timeout = 0')
    const toDaily = a.admin('PATCH', '/v1/users/racer', { budget_period: 'daily' })
    // A's transaction holds the lock, spinning in its UPDATE: seen twice, not a background write's moment.
    const locked = async () => writeLocked(db) && (await Bun.sleep(50), writeLocked(db))
    for (let i = 0; i < 200 && !(await locked()); i++) await Bun.sleep(10)
    expect(writeLocked(db)).toBe(true)
    // B, sent now from the other process, sets the period back.
    const toMonthly = await b.admin('PATCH', '/v1/users/racer', { budget_period: 'monthly' })
    const done = await toDaily
    const stored = db.query<{ budget_period: string }, []>("SELECT budget_period FROM users WHERE id = 'racer'").get()!.budget_period
    expect({
      a: [done.status, done.body.budget_period],
      b: [toMonthly.status, toMonthly.body.budget_period],
      stored,
    }).toEqual({ a: [200, 'daily'], b: [200, 'monthly'], stored: 'monthly' })
  } finally {
    db.run('PRAGMA busy_timeout = 10000')
    db.run('DROP TRIGGER IF EXISTS slow_daily')
    db.close()
  }
}, 60_000)
