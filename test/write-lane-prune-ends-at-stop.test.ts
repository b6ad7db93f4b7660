/**
 * Mutation guard. README "Maintenance in small steps": the request-log prune (and the stored ids')
 * deletes in small transactions "and end[s] between batches once the gateway is stopping". deleteInBatches
 * must look at `stopped()` before each step: without it a stop waits for a backlog of millions of rows to be
 * pruned (or closes the database under it). Here the stop comes after the first step: one step goes, no more.
 */
import { afterEach, beforeEach, expect, test } from 'bun:test'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { FIRST_STEP_ROWS, MAINTENANCE_BATCH } from '../src/db/maintenance'
import { SqliteStore } from '../src/store/sqlite/store'
import { tempDir } from './support/gateway'

let dir: string
let store: SqliteStore
beforeEach(() => {
  dir = tempDir()
  store = SqliteStore.open(join(dir, 'gateway.db'))
})
afterEach(async () => {
  await store.close()
  rmSync(dir, { recursive: true, force: true })
})

const logged = () => (store.db.$client.query('SELECT count(*) AS n FROM api_request_log').get() as { n: number }).n

test('a request-log prune under way ends between batches once the gateway is stopping', async () => {
  const old = Date.now() - 90 * 86_400_000
  const ROWS = MAINTENANCE_BATCH * 3 + 5
  for (let i = 0; i < ROWS; i++)
    store.appendRequestLog({ createdAt: old + i, requestId: `r${i}`, method: 'POST', route: '/v1/chat/completions', status: 200, latencyMs: 1, clientIp: '127.0.0.1', keyId: null, userId: null })
  await store.flush()
  expect(logged()).toBe(ROWS)
  let stopping = false
  const pruned = await store.pruneRequestLog(Date.now(), () => {
    const now = stopping
    stopping = true // the stop begins while the first batch runs
    return now
  })
  expect(pruned).toBe(FIRST_STEP_ROWS)
  expect(logged()).toBe(ROWS - FIRST_STEP_ROWS)
})
