import { afterEach, expect, test } from 'bun:test'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { SqliteStore } from '../src/store/sqlite/store'
import { tempDir } from './support/gateway'

/**
 * The store's health probe on a full disk, without root (the tmpfs of test/engines/sqlite-full-disk-health.engine.ts):
 * `max_page_count` stands for the disk's room. `SELECT 1` answered while every commit failed SQLITE_FULL, so
 * /health said ok; now the last commit's failure is kept until one lands, and reported once, not at every commit.
 */
let dir: string
let store: SqliteStore
afterEach(async () => {
  await store.close().catch(() => {})
  rmSync(dir, { recursive: true, force: true })
})

test('after a commit fails for a full disk, ping refuses with database: full until a commit lands; the failure is reported once', async () => {
  dir = tempDir()
  const reported: unknown[] = []
  store = SqliteStore.open(join(dir, 'tollgate.db'), (error) => reported.push(error))
  const c = store.db.$client
  const insert = c.prepare(`INSERT INTO api_request_log (created_at, request_id, method, route, status, latency_ms) VALUES (?, ?, 'POST', ?, 200, 1)`)
  const row = () => void insert.run(Date.now(), crypto.randomUUID(), '/' + 'x'.repeat(8000))
  await store.ping()

  const pages = (c.query('PRAGMA page_count').get() as { page_count: number }).page_count
  c.exec(`PRAGMA max_page_count = ${pages}`)
  // Twenty holds' commits, and a log row left queued (as a refused request's is).
  const refused = await Promise.all(Array.from({ length: 20 }, () => store.writes.submit(row).then(() => 'ok', (e) => String(e.code))))
  store.writes.deferDroppable(row)
  expect(new Set(refused)).toEqual(new Set(['SQLITE_FULL']))
  // What /health says as `database` (DatabaseTakesNoWrites.reason).
  const probe = await store.ping().then(() => 'ok', (e: { reason?: string }) => e.reason)
  expect(probe).toBe('full')
  expect(reported.map((e) => String((e as { code?: unknown }).code))).toEqual(['SQLITE_FULL'])

  // Room again: the queued row's next try (a second on) lands, with no request, and the probe is ok again.
  c.exec(`PRAGMA max_page_count = ${pages * 100}`)
  await Bun.sleep(1_200)
  expect(store.writes.queued).toBe(0)
  await store.ping()
})
