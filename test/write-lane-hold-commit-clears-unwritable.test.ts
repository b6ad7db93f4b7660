/**
 * Mutation guard. A commit that fails for the database's sake (SQLITE_READONLY, _FULL, _IOERR) is kept
 * as WriteQueue.unwritable, which /health reports (503) "until a commit lands". A reservation's own commit landing
 * is such a commit: flushUrgent must clear the state as flush() does (committed()), or a gateway whose disk took
 * writes again keeps failing its health check (and stays out of the load balancer) while it grants holds, until some
 * lingering write happens to commit. It also keeps `busySince`, which makes the next sibling's brief lock look like
 * one held past the busy timeout.
 */
import { afterEach, beforeEach, expect, test } from 'bun:test'
import { Database } from 'bun:sqlite'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { WriteQueue } from '../src/db/write-queue'
import { tempDir } from './support/gateway'

let dir: string
let db: Database
let errors: unknown[]

beforeEach(() => {
  dir = tempDir()
  db = new Database(join(dir, 'q.db'), { create: true, strict: true })
  db.exec('PRAGMA journal_mode = WAL')
  db.exec('CREATE TABLE t (v INTEGER NOT NULL)')
  errors = []
})
afterEach(() => {
  db.exec('PRAGMA query_only = OFF')
  db.close()
  rmSync(dir, { recursive: true, force: true })
})

test("a reservation's commit that lands once the database takes writes again ends the 'takes no writes' state", async () => {
  const queue = new WriteQueue(db, (e) => errors.push(e))
  const insert = db.prepare('INSERT INTO t (v) VALUES (?)')
  db.exec('PRAGMA query_only = ON') // as a read-only remount: SQLITE_READONLY
  const refused = await queue.submit(() => insert.run(1).changes).then(
    () => null,
    (e) => String((e as { code?: unknown }).code),
  )
  expect(refused).toMatch(/^SQLITE_READONLY/)
  expect(queue.unwritable).not.toBeNull()
  db.exec('PRAGMA query_only = OFF')
  expect(await queue.submit(() => insert.run(2).changes)).toBe(1)
  // The commit landed: the database takes writes, and the health check must say so.
  expect(queue.unwritable).toBeNull()
  expect(errors).toHaveLength(1) // the outage, reported once
  queue.close()
})
