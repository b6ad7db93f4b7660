/**
 * A settlement writes a usage row inside the write queue's transaction, after other writes: SQLite keeps the
 * pages that statement changes in a statement journal. The usage table's indexes and rollup trigger make that
 * journal larger than SQLite's 64 KiB spill size, and with the default temporary store it went to a temporary
 * file (a deleted `etilqs_*` file the process keeps open) on every settlement, some 15% of a chat request's CPU
 * (bench/README.md, round fourteen). The writer's connection keeps it in memory.
 */
import { afterAll, expect, test } from 'bun:test'
import { readdirSync, readlinkSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { openDatabase } from '../src/db/open'
import { tempDir } from './support/gateway'

const dir = tempDir('tollgate-stmt-journal-')
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** The SQLite temporary files this process holds open (unlinked at once, so seen only through /proc). */
const openTempFiles = () =>
  readdirSync('/proc/self/fd').flatMap((fd) => {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`)
      return target.includes('etilqs_') ? [target] : []
    } catch {
      return []
    }
  })

test('a usage row written after other writes in one transaction keeps its statement journal in memory', () => {
  const client = openDatabase(join(dir, 'g.db')).$client
  expect(client.query('PRAGMA temp_store').get()).toEqual({ temp_store: 2 })
  const before = openTempFiles()
  const now = Date.now()
  client.run('BEGIN IMMEDIATE')
  client.run('INSERT INTO users (id, max_budget, period_start, created_at, updated_at) VALUES (?, ?, 0, ?, ?)', ['u', 10 ** 9, now, now])
  const insertUsage = client.prepare(`INSERT INTO usage (request_id, created_at, user_id, key_id, model, provider, endpoint, cost, reserved, status)
    VALUES (?, ?, 'u', 'k', 'mock:gpt-mock', 'mock', '/v1/chat/completions', 7, 100, 'ok')`)
  for (let i = 0; i < 64; i++) insertUsage.run(`r${i}`, now)
  const during = openTempFiles()
  client.run('COMMIT')
  expect(during).toEqual(before)
  expect(client.query('SELECT requests FROM usage_daily').get()).toEqual({ requests: 64 })
  client.close()
})
