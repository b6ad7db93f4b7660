/**
 * Mutation guard. A stop must end before the container runtime's SIGKILL (10 s after SIGTERM): the
 * store's close copies the WAL back and cuts it (cutWal), retrying only while another connection keeps the
 * checkpoint `busy`, for CUT_WAL_MS (2 s) at most. A checkpoint that got through ends the loop at once: a cutWal
 * that waits out its 2 s whatever the answer adds 2 s to every stop (and every restart of a worker).
 */
import { afterEach, beforeEach, expect, test } from 'bun:test'
import { existsSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { SqliteStore } from '../src/store/sqlite/store'
import { tempDir } from './support/gateway'

let dir: string
beforeEach(() => {
  dir = tempDir()
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

test("a store's close with no other connection on the file copies and cuts the WAL at once", async () => {
  const path = join(dir, 'gateway.db')
  const store = SqliteStore.open(path)
  for (let i = 0; i < 200; i++)
    store.appendRequestLog({ createdAt: Date.now(), requestId: `r${i}`, method: 'POST', route: '/v1/chat/completions', status: 200, latencyMs: 1, clientIp: '127.0.0.1', keyId: null, userId: null })
  await store.flush()
  const started = performance.now()
  await store.close()
  expect(performance.now() - started).toBeLessThan(1_000)
  // Copied back and cut: the file alone holds everything.
  expect(existsSync(`${path}-wal`) ? statSync(`${path}-wal`).size : 0).toBe(0)
})
