/**
 * The WAL checkpointer's thread may die: its connection cannot be opened (here the database's folder is gone for
 * a moment, as a volume that drops out and comes back), or its thread ends. Nothing else copies the WAL back (the
 * gateway's connection runs with `wal_autocheckpoint = 0`), so the WAL grew with every commit, without end. Now
 * the gateway's connection checkpoints in its commits while no thread runs (SQLite's default), the death is
 * logged and counted, and a thread is started again until one runs; then checkpoints are its own again.
 */
import { afterEach, expect, test } from 'bun:test'
import { mkdirSync, renameSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { createServices } from '../src/app'
import { configSchema } from '../src/config/schema'
import { checkpointOffThread, WAL_SIZE_LIMIT_BYTES } from '../src/db/checkpointer'
import { createLogger } from '../src/log/logger'
import { MASTER_KEY, tempDir } from './support/gateway'
import { waitFor } from './support/wait-for'

let cleanup: Array<() => unknown> = []
afterEach(async () => {
  for (const step of cleanup.reverse()) await step()
  cleanup = []
})

test('a checkpointer thread that dies leaves no WAL growing without end: the commits checkpoint, and a thread is started again', async () => {
  const dir = tempDir()
  const folder = join(dir, 'data')
  mkdirSync(folder, { mode: 0o700 })
  const path = join(folder, 'wal.db')
  const services = await createServices(configSchema.parse({ master_key: MASTER_KEY, db: path }))
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }), () => services.store.close(), () => services.requestLog.stop())
  const db = services.store.db.$client
  const lines: Array<Record<string, unknown>> = []
  const logger = createLogger('warn', (line) => lines.push(JSON.parse(line)))

  // The gateway's connection has its files open already; the thread opens the database by its path, which is gone.
  renameSync(folder, `${folder}-away`)
  const checkpointer = checkpointOffThread(db, path, { everyMs: 20, restartAfterMs: 200, logger })
  cleanup.push(checkpointer.stop)
  expect(await waitFor(5_000, () => lines.length > 0)).toBe(true)
  expect(lines[0]).toMatchObject({ level: 'error', msg: expect.stringContaining('WAL checkpointer thread died') })
  expect(String(lines[0]!.error)).toContain('unable to open database file')
  expect(checkpointer.running).toBe(false)

  // Twice the WAL's limit, in commits a few milliseconds apart, as the write queue makes them.
  const insert = db.query(
    `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100)
     INSERT INTO api_request_log (created_at, request_id, method, route, status, latency_ms)
     SELECT ?1 - i, 'r-' || i, 'GET', '/' || hex(zeroblob(2000)), 200, 1 FROM n`,
  )
  let largest = 0
  for (let written = 0; written < 2 * WAL_SIZE_LIMIT_BYTES; written += 100 * 4_000) {
    insert.run(Date.now())
    largest = Math.max(largest, statSync(`${folder}-away/wal.db-wal`).size)
    await Bun.sleep(2)
  }
  expect(largest).toBeLessThanOrEqual(WAL_SIZE_LIMIT_BYTES)

  // The folder is back: a thread started again opens it and takes the checkpoints over.
  renameSync(`${folder}-away`, folder)
  expect(await waitFor(10_000, () => checkpointer.running)).toBe(true)
  expect(checkpointer.restarts).toBeGreaterThanOrEqual(1)
  expect(db.query('PRAGMA wal_autocheckpoint').get()).toEqual({ wal_autocheckpoint: 0 })
}, 30_000)
