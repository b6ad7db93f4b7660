/**
 * README, "Moving an existing SQLite install": "a file that changes while it is read (a gateway still running on
 * it) fails the run, nothing written". A gateway running on the file has a `-wal` beside it, and its writes (a
 * settlement's spend) go into that `-wal`, not into the main file until a checkpoint: a stamp of the main file
 * alone (inode, size, mtime, whether a `-wal` exists) did not change, the copy (read page by page, table by
 * table, with no read transaction) mixed moments, and migrate exited 0 with a copy short of spend the file held.
 * The file is now read in one read transaction (one moment), and a write committed meanwhile (SQLite's
 * data_version) fails the run.
 */
import { afterAll, beforeAll, expect, spyOn, test } from 'bun:test'
import type { Database } from 'bun:sqlite'
import { SQL } from 'bun'
import { existsSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { runMigrate } from '../../src/cli/migrate'
import { openDatabase } from '../../src/db/open'
import { tempDir } from '../support/gateway'
import { startPostgres, type TestPostgres } from './support/postgres'

let pg: TestPostgres
const dir = tempDir('tollgate-migrate-still-writing-')
beforeAll(async () => {
  pg = await startPostgres()
})
afterAll(async () => {
  await pg?.destroy()
  rmSync(dir, { recursive: true, force: true })
})

/** A running gateway's connection to a file of 1,600 users: WAL mode, kept open (its `-wal` stays beside the file), no automatic checkpoint. */
function runningGateway(file: string): Database {
  const gateway = openDatabase(file).$client
  gateway.exec('PRAGMA wal_autocheckpoint = 0')
  const insert = gateway.prepare('INSERT INTO users (id, spend, period_start, created_at, updated_at) VALUES (?, 0, 0, 0, 0)')
  gateway.transaction(() => {
    for (let i = 0; i < 1_600; i++) insert.run(`user-${String(i).padStart(5, '0')}`)
  })()
  expect(existsSync(`${file}-wal`)).toBe(true)
  return gateway
}

const spendOf = (gateway: Database) => (gateway.query("SELECT spend FROM users WHERE id = 'user-00000'").get() as { spend: number }).spend

async function copiedUsers(url: string) {
  const sql = new SQL(url)
  try {
    const [{ n }] = (await sql`SELECT count(*)::int AS n FROM users`) as [{ n: number }]
    // A bigint column: the driver gives a string.
    const [first] = (await sql`SELECT spend FROM users WHERE id = 'user-00000'`) as { spend: string }[]
    return { n, spend: first === undefined ? undefined : Number(first.spend) }
  } finally {
    await sql.close()
  }
}

async function migrateCapturingErrors(url: string, file: string) {
  const errors = spyOn(console, 'error').mockImplementation(() => {})
  try {
    const code = await runMigrate(['--to', url, '--from', file], { PATH: process.env.PATH ?? '' })
    return { code, error: errors.mock.calls.map((call) => call.join(' ')).join('\n') }
  } finally {
    errors.mockRestore()
  }
}

test('a gateway writing to its -wal while migrate reads the file fails the run, nothing written', async () => {
  const file = join(dir, 'writing.db')
  const gateway = runningGateway(file)
  const url = await pg.database('migrate_still_writing')
  // A settlement every few ms: the first user's spend grows in the -wal while migrate runs.
  let writes = 0
  let running = true
  const settle = gateway.prepare("UPDATE users SET spend = spend + 1 WHERE id = 'user-00000'")
  const writer = (async () => {
    while (running) {
      settle.run()
      writes++
      await Bun.sleep(2)
    }
  })()
  const { code, error } = await migrateCapturingErrors(url, file)
  running = false
  await writer
  gateway.close()

  expect(writes).toBeGreaterThan(0)
  expect(code).toBe(1)
  expect(error).toContain('the SQLite file changed while it was read (a gateway running on it?)')
  expect(error).toContain('nothing was written')
  expect((await copiedUsers(url)).n).toBe(0)
})

test('a -wal beside the file that nothing writes to meanwhile is copied whole, the -wal\'s rows with the rest', async () => {
  const file = join(dir, 'idle.db')
  const gateway = runningGateway(file)
  gateway.exec("UPDATE users SET spend = 42 WHERE id = 'user-00000'")
  const url = await pg.database('migrate_idle_wal')
  const { code, error } = await migrateCapturingErrors(url, file)
  const inFile = spendOf(gateway)
  gateway.close()

  expect(error).toBe('')
  expect(code).toBe(0)
  expect(await copiedUsers(url)).toEqual({ n: 1_600, spend: inFile })
})
