/**
 * SQLite names its lock conflicts with extended codes too: SQLITE_BUSY_SNAPSHOT when a read transaction
 * tries to write after another connection committed, SQLITE_BUSY_RECOVERY / _TIMEOUT likewise. Each means
 * the same as SQLITE_BUSY — nothing was written, the request may simply be sent again — so each is
 * answered 503 database_busy, not a 500 that tells the client the gateway is broken.
 */
import { Database } from 'bun:sqlite'
import { afterAll, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DrizzleQueryError } from 'drizzle-orm'
import { toGatewayError } from '../src/plugins/errors'

const dir = mkdtempSync(join(tmpdir(), 'tollgate-busy-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const log = { log: () => {} } as unknown as Parameters<typeof toGatewayError>[2]
const answer = (error: unknown) => {
  const e = toGatewayError('UNKNOWN', error, log)
  return `${e.status} ${e.code}`
}

/** What bun:sqlite throws when a reader's snapshot went stale before its first write. */
function staleSnapshotError(): unknown {
  const path = join(dir, 'busy.db')
  const reader = new Database(path)
  reader.exec('PRAGMA journal_mode=WAL; CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1)')
  const writer = new Database(path)
  reader.exec('BEGIN')
  reader.query('SELECT * FROM t').all()
  writer.exec('INSERT INTO t VALUES (2)')
  try {
    reader.exec('INSERT INTO t VALUES (3)')
  } catch (error) {
    return error
  } finally {
    reader.close()
    writer.close()
  }
  throw new Error('expected SQLite to refuse the stale write')
}

test('a stale snapshot (SQLITE_BUSY_SNAPSHOT) is answered 503 database_busy, as SQLITE_BUSY is', () => {
  const error = staleSnapshotError()
  expect((error as { code?: string }).code).toBe('SQLITE_BUSY_SNAPSHOT')
  expect(answer(error)).toBe('503 database_busy')
  expect(answer(new DrizzleQueryError('insert', [], error as Error))).toBe('503 database_busy')
})

test('the other extended busy codes are answered likewise', () => {
  for (const code of ['SQLITE_BUSY', 'SQLITE_BUSY_RECOVERY', 'SQLITE_BUSY_TIMEOUT']) {
    expect(answer(Object.assign(new Error('database is locked'), { code }))).toBe('503 database_busy')
  }
})
