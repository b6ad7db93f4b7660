/**
 * Mutation guard. While another process holds the file's lock, every try of the write queue's commit
 * waits LOCK_WAIT_MS in SQLite's busy handler, on the only thread that answers requests. The queue keeps that cost
 * bounded: a commit that finds the file locked is tried again on a timer that backs off from FIRST_RETRY_MS to
 * LAST_RETRY_MS (src/db/write-queue.ts, "backing off"), and a try that fails for the lock is not run a second time
 * in savepoints (only a write's own failure is). Either mutation (no backoff; a locked batch run again at once)
 * doubles the time the request thread spends stalled in the busy handler while a backup or an operator's sqlite3
 * session holds the lock.
 */
import { afterEach, beforeEach, expect, test } from 'bun:test'
import { Database } from 'bun:sqlite'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { LOCK_WAIT_MS } from '../src/db/open'
import { WriteQueue } from '../src/db/write-queue'
import { tempDir } from './support/gateway'

let dir: string
let db: Database

beforeEach(() => {
  dir = tempDir()
  db = new Database(join(dir, 'q.db'), { create: true, strict: true })
  db.exec('PRAGMA journal_mode = WAL')
  db.exec('CREATE TABLE t (v INTEGER NOT NULL)')
  // The serving connection's busy handler waits LOCK_WAIT_MS at most (src/db/open.ts).
  db.exec(`PRAGMA busy_timeout = ${LOCK_WAIT_MS}`)
})
afterEach(() => {
  db.close()
  rmSync(dir, { recursive: true, force: true })
})

test('lingering writes waiting out a lock held for a second retry with backoff, each try one busy wait', async () => {
  const errors: unknown[] = []
  const queue = new WriteQueue(db, (e) => errors.push(e))
  // Each commit the queue tries, and how long it held the thread.
  const tries: number[] = []
  const q = queue as unknown as { runAll: (writes: unknown[]) => void }
  const runAll = q.runAll.bind(queue)
  q.runAll = (writes) => {
    const start = performance.now()
    try {
      runAll(writes)
    } finally {
      tries.push(performance.now() - start)
    }
  }
  const insert = db.prepare('INSERT INTO t (v) VALUES (?)')
  const locker = new Database(join(dir, 'q.db'))
  locker.exec('BEGIN IMMEDIATE')
  // One busy wait on this machine, now: the yardstick for a try (a loaded machine stretches both alike).
  const waits = [0, 1, 2].map(() => {
    const start = performance.now()
    try {
      insert.run(-1)
    } catch {}
    return performance.now() - start
  })
  const oneWait = waits.sort((a, b) => a - b)[1]!
  for (let i = 0; i < 3; i++) queue.defer(() => void insert.run(i))
  await Bun.sleep(1_000)
  locker.exec('COMMIT')
  locker.close()
  await queue.flushed()
  expect((db.query('SELECT count(*) AS n FROM t').get() as { n: number }).n).toBe(3)
  const failed = tries.slice(0, -1)
  // Backing off to 50 ms between tries (each try ~LOCK_WAIT_MS more): ~15 tries in a second; at 10 ms apart, ~33.
  expect(failed.length).toBeLessThan(24)
  // One busy wait a try, not two.
  const median = [...failed].sort((a, b) => a - b)[Math.floor(failed.length / 2)]!
  expect(median).toBeLessThan(Math.max(oneWait, LOCK_WAIT_MS) * 1.5)
  queue.close()
})
