import { afterEach, beforeEach, describe, expect, test } from 'bun:test'
import { Database } from 'bun:sqlite'
import { DrizzleQueryError } from 'drizzle-orm'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { WriteQueue } from '../src/db/write-queue'
import { tempDir } from './support/gateway'

let dir: string
let db: Database
let observer: Database
let errors: unknown[]
let queue: WriteQueue
const LINGER_MS = 30

/** Commits made by the queue's connection, as another connection sees them. */
const commitsSeen = () => (observer.query('PRAGMA data_version').get() as { data_version: number }).data_version
const rows = () => (observer.query('SELECT count(*) AS n FROM t').get() as { n: number }).n

beforeEach(() => {
  dir = tempDir()
  db = new Database(join(dir, 'q.db'), { create: true, strict: true })
  db.exec('PRAGMA journal_mode = WAL')
  db.exec('CREATE TABLE t (v INTEGER NOT NULL)')
  observer = new Database(join(dir, 'q.db'))
  errors = []
  queue = new WriteQueue(db, (e) => errors.push(e), LINGER_MS)
})
afterEach(() => {
  queue.close()
  observer.close()
  db.close()
  rmSync(dir, { recursive: true, force: true })
  expect(errors).toEqual([])
})

describe('WriteQueue', () => {
  test('writes nobody waits for linger, then commit together on their own', async () => {
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)')
    const before = commitsSeen()
    for (let i = 0; i < 5; i++) queue.defer(() => void insert.run(i))
    await new Promise((r) => setImmediate(r))
    expect(rows()).toBe(0) // not committed at the end of the turn
    await Bun.sleep(LINGER_MS * 3)
    expect(rows()).toBe(5)
    expect(commitsSeen() - before).toBe(1)
  })

  test('a write someone waits for commits at the end of the turn, on its own; the lingering writes keep lingering', async () => {
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)')
    const before = commitsSeen()
    queue.defer(() => void insert.run(1))
    queue.defer(() => void insert.run(2))
    const started = performance.now()
    const value = await queue.submit(() => insert.run(3).changes)
    expect(performance.now() - started).toBeLessThan(LINGER_MS)
    expect(value).toBe(1)
    expect(observer.query('SELECT v FROM t').all()).toEqual([{ v: 3 }])
    expect(commitsSeen() - before).toBe(1)
    await Bun.sleep(LINGER_MS * 3)
    expect(rows()).toBe(3)
    expect(commitsSeen() - before).toBe(2)
  })

  test('flush() commits both lanes at once: what a reader calls before reading', async () => {
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)')
    const before = commitsSeen()
    queue.defer(() => void insert.run(1))
    const waited = queue.submit(() => insert.run(2).changes)
    queue.flush()
    expect(rows()).toBe(2)
    expect(await waited).toBe(1)
    expect(commitsSeen() - before).toBe(1)
  })

  test('lazy writes past the cap are committed at the end of the turn, not the linger', async () => {
    const capped = new WriteQueue(db, (e) => errors.push(e), 60_000, 10)
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)')
    for (let i = 0; i < 10; i++) capped.defer(() => void insert.run(i))
    await new Promise((r) => setImmediate(r))
    expect(rows()).toBe(10)
    capped.close()
  })

  test('a submitted write that throws rolls back alone and rejects with its error; its neighbours commit', async () => {
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)')
    const results = await Promise.allSettled([
      queue.submit(() => insert.run(1).changes),
      queue.submit(() => {
        insert.run(2)
        throw new Error('refused after a write')
      }),
      queue.submit(() => insert.run(3).changes),
    ])
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
    expect(String((results[1] as PromiseRejectedResult).reason)).toContain('refused after a write')
    expect(observer.query('SELECT v FROM t ORDER BY v').all()).toEqual([{ v: 1 }, { v: 3 }])
  })

  test('a write that throws after its first statement is undone whole, alone; the batch is run again and the rest commits', async () => {
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)')
    const before = commitsSeen()
    queue.defer(() => void insert.run(1))
    queue.defer(() => {
      insert.run(2)
      insert.run(null as never) // NOT NULL: the second statement fails
    })
    const waited = queue.submit(() => insert.run(3).changes)
    queue.flush()
    expect(await waited).toBe(1)
    expect(observer.query('SELECT v FROM t ORDER BY v').all()).toEqual([{ v: 1 }, { v: 3 }])
    expect(commitsSeen() - before).toBe(1) // the fast run was rolled back, never committed
    expect(errors.splice(0).map(String)).toEqual([expect.stringContaining('NOT NULL')])
  })

  test('a lingering write\'s `then` hears what it returned once it is committed, once, though the batch ran it twice', async () => {
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)')
    const told: Array<{ v: number; rows: number }> = []
    let runs = 0
    queue.defer(
      () => {
        runs++
        insert.run(1)
        return 1
      },
      (v) => told.push({ v, rows: rows() }),
    )
    // Fails the fast run: the batch is rolled back and run again, each write in its own savepoint.
    queue.defer(() => void insert.run(null as never))
    queue.defer(() => 3, (v) => told.push({ v, rows: rows() }))
    expect(told).toEqual([])
    queue.flush()
    expect(runs).toBe(2)
    // Told after the commit: another connection already sees the row.
    expect(told).toEqual([{ v: 1, rows: 1 }, { v: 3, rows: 1 }])
    expect(errors.splice(0).map(String)).toEqual([expect.stringContaining('NOT NULL')])
  })

  test('a lingering write that throws is never told; one whose commit fails is told only once a later commit writes it', async () => {
    db.exec('PRAGMA busy_timeout = 10')
    const retrying = new WriteQueue(db, (e) => errors.push(e), LINGER_MS, 2_000, 50, 20)
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)')
    const told: string[] = []
    retrying.defer(() => {
      insert.run(null as never)
    }, () => told.push('thrown'))
    const locker = new Database(join(dir, 'q.db'))
    locker.exec('BEGIN IMMEDIATE')
    retrying.defer(() => void insert.run(1), () => told.push('written'))
    await Bun.sleep(LINGER_MS * 3)
    expect(told).toEqual([])
    locker.exec('COMMIT')
    locker.close()
    await Bun.sleep(200)
    expect(told).toEqual(['written'])
    expect(rows()).toBe(1)
    errors.length = 0
    retrying.close()
  })

  test('lingering writes whose commit fails as a whole (another process holds the lock) are tried again, in order, not dropped', async () => {
    db.exec('PRAGMA busy_timeout = 10')
    // A lock held past the busy timeout (20 ms here) is reported.
    const retrying = new WriteQueue(db, (e) => errors.push(e), LINGER_MS, 2_000, 50, 20)
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)')
    const locker = new Database(join(dir, 'q.db'))
    locker.exec('BEGIN IMMEDIATE')
    for (let i = 0; i < 3; i++) retrying.defer(() => void insert.run(i))
    await Bun.sleep(LINGER_MS * 3)
    expect(errors.length).toBeGreaterThan(0)
    expect(String(errors[0])).toMatch(/locked|busy/i)
    expect(rows()).toBe(0)
    retrying.defer(() => void insert.run(3))
    locker.exec('COMMIT')
    locker.close()
    await Bun.sleep(200)
    expect(observer.query('SELECT v FROM t ORDER BY rowid').all()).toEqual([{ v: 0 }, { v: 1 }, { v: 2 }, { v: 3 }])
    errors.length = 0
    retrying.close()
  })

  test('a waited-for write that finds the file locked waits on the event loop, and commits once the lock is free', async () => {
    db.exec('PRAGMA busy_timeout = 5')
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)')
    const locker = new Database(join(dir, 'q.db'))
    locker.exec('BEGIN IMMEDIATE')
    const waited = queue.submit(() => insert.run(1).changes)
    // The thread stays free while the write waits: timers fire on time.
    const lateness: number[] = []
    for (let i = 0; i < 20; i++) {
      const start = performance.now()
      await Bun.sleep(10)
      lateness.push(performance.now() - start - 10)
    }
    expect(Math.max(...lateness)).toBeLessThan(30)
    expect(rows()).toBe(0)
    locker.exec('COMMIT')
    locker.close()
    expect(await waited).toBe(1)
    expect(rows()).toBe(1)
  })

  test('a waited-for write is refused once the busy timeout has passed since it was submitted, not before', async () => {
    db.exec('PRAGMA busy_timeout = 5')
    const quick = new WriteQueue(db, (e) => errors.push(e), LINGER_MS, 2_000, 1_000, 200)
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)')
    const locker = new Database(join(dir, 'q.db'))
    locker.exec('BEGIN IMMEDIATE')
    const started = performance.now()
    const first = quick.submit(() => insert.run(1).changes).catch((e) => ({ error: String(e), ms: performance.now() - started }))
    await Bun.sleep(100)
    const second = quick.submit(() => insert.run(2).changes).catch((e) => ({ error: String(e), ms: performance.now() - started }))
    const a = (await first) as { error: string; ms: number }
    expect(a.error).toMatch(/locked/)
    expect(a.ms).toBeGreaterThanOrEqual(195)
    expect(a.ms).toBeLessThan(400)
    locker.exec('COMMIT') // before the second's busy timeout: it commits
    locker.close()
    expect(await second).toBe(1)
    expect(observer.query('SELECT v FROM t').all()).toEqual([{ v: 2 }])
    expect(errors.splice(0).map(String)).toEqual([expect.stringContaining('locked')]) // reported once
    quick.close()
  })

  test('a write made outside the queue (waitingForLock) waits on the event loop for the lock, then is refused once the busy timeout has passed', async () => {
    db.exec('PRAGMA busy_timeout = 5')
    const quick = new WriteQueue(db, (e) => errors.push(e), LINGER_MS, 2_000, 1_000, 200)
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)')
    const locker = new Database(join(dir, 'q.db'))
    locker.exec('BEGIN IMMEDIATE')
    const started = performance.now()
    const refused = await quick.waitingForLock(() => insert.run(1).changes).catch((e) => ({ error: String(e), ms: performance.now() - started }))
    expect(refused).toEqual({ error: expect.stringMatching(/locked/), ms: expect.any(Number) })
    expect((refused as { ms: number }).ms).toBeGreaterThanOrEqual(195)
    expect((refused as { ms: number }).ms).toBeLessThan(400)
    // drizzle's wrapping (the admin routes' awaited builders) is seen through; the write lands once the lock goes.
    let tries = 0
    const waited = quick.waitingForLock(async () => {
      tries++
      try {
        return insert.run(2).changes
      } catch (cause) {
        throw new DrizzleQueryError('insert', [], cause as Error)
      }
    })
    await Bun.sleep(60)
    locker.exec('COMMIT')
    locker.close()
    expect(await waited).toBe(1)
    expect(tries).toBeGreaterThan(1)
    expect(observer.query('SELECT v FROM t').all()).toEqual([{ v: 2 }])
    quick.close()
  })

  test('after close, writes are refused and submits reject', async () => {
    queue.close()
    await expect(queue.submit(() => 1)).rejects.toThrow('closed')
    queue.defer(() => {})
    expect(errors.splice(0).map(String)).toEqual(['Error: write queued after the database was closed; dropped'])
  })
})
