/**
 * A SQLite database that takes no writes refuses every hold with SQLITE_READONLY (or one of its extended codes:
 * _DBMOVED, _DIRECTORY, _CANTINIT…). Like a Postgres taking none (25006), that is 503 database_unavailable with
 * Retry-After, nothing charged and the provider not called, and the operator is told in the log: not a 500
 * internal_error logged as an unhandled bug. The writes nobody waits for (settlements, log rows) are kept and
 * written once it takes writes again, as on a full disk, not dropped as if each were at fault (a dropped
 * settlement leaves its hold to be swept at its full amount). (/health on a read-only filesystem:
 * test/engines/sqlite-read-only-filesystem.engine.ts.)
 */
import { afterAll, expect, test } from 'bun:test'
import { Database } from 'bun:sqlite'
import { renameSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { DrizzleQueryError } from 'drizzle-orm'
import { createApp, createServices } from '../src/app'
import { WriteQueue } from '../src/db/write-queue'
import { toGatewayError } from '../src/plugins/errors'
import type { SqliteStore } from '../src/store/sqlite/store'
import { startMockProvider } from './support/mock-provider'
import { MASTER_KEY, tempDir, testConfig } from './support/gateway'

const dir = tempDir('tollgate-sqlite-read-only-')
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const logged: Array<[string, string]> = []
const log = { log: (level: string, msg: string) => void logged.push([level, msg]) } as unknown as Parameters<typeof toGatewayError>[2]
const answer = (error: unknown) => {
  const e = toGatewayError('UNKNOWN', error, log)
  return `${e.status} ${e.code} ${e.headers?.['retry-after'] !== undefined}`
}

/** What bun:sqlite throws for `write` on `db`. */
function thrownBy(db: Database, write: string): unknown {
  try {
    db.run(write)
  } catch (error) {
    return error
  } finally {
    db.close()
  }
  throw new Error(`${write} was written`)
}

test("SQLITE_READONLY and its extended codes, as bun:sqlite throws them and as drizzle wraps them: 503 database_unavailable, the operator told", () => {
  const path = join(dir, 'plain.db')
  const made = new Database(path)
  made.run('CREATE TABLE t (x)')
  made.close()
  const readOnly = thrownBy(new Database(path, { readonly: true }), 'INSERT INTO t VALUES (1)')
  // A database in rollback-journal mode whose file was moved while open: SQLite refuses to write it.
  const moved = new Database(join(dir, 'moved.db'))
  moved.run('CREATE TABLE t (x)')
  renameSync(join(dir, 'moved.db'), join(dir, 'moved-away.db'))
  const dbMoved = thrownBy(moved, 'INSERT INTO t VALUES (1)')
  expect([(readOnly as { code?: string }).code, (dbMoved as { code?: string }).code]).toEqual(['SQLITE_READONLY', 'SQLITE_READONLY_DBMOVED'])

  for (const error of [readOnly, dbMoved, new DrizzleQueryError('insert', [], readOnly as Error)]) {
    logged.length = 0
    expect(answer(error)).toBe('503 database_unavailable true')
    expect(logged).toEqual([['error', 'the database takes no writes: requests are refused until it does']])
  }
})

test("a hold on the gateway's own connection when it takes no writes: 503 database_unavailable, the provider not called", async () => {
  const mock = startMockProvider()
  const services = await createServices(testConfig({ mock }, join(dir, 'gateway')))
  const app = createApp(services)
  const call = (path: string, auth: string, body: unknown) =>
    app.handle(new Request(`http://localhost${path}`, { method: 'POST', headers: { authorization: `Bearer ${auth}`, 'content-type': 'application/json' }, body: JSON.stringify(body) }))
  try {
    expect((await call('/v1/users', MASTER_KEY, { id: 'u', max_budget: 10 })).status).toBe(201)
    const key = (await (await call('/v1/keys', MASTER_KEY, { user_id: 'u' })).json()) as { key: string }
    // The connection the gateway serves on, set to take no writes: SQLite answers its hold SQLITE_READONLY.
    ;(services.store as SqliteStore).db.$client.exec('PRAGMA query_only = ON')
    const res = await call('/v1/chat/completions', key.key, { model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'hi' }] })
    const body = (await res.json()) as { error: { code: string } }
    expect({ status: res.status, code: body.error.code, retryAfter: res.headers.get('retry-after'), calls: mock.calls.length }).toEqual({
      status: 503, code: 'database_unavailable', retryAfter: '1', calls: 0,
    })
    ;(services.store as SqliteStore).db.$client.exec('PRAGMA query_only = OFF')
    // The request log's row, written once the answer is handed over.
    await Bun.sleep(50)
  } finally {
    services.requestLog.stop()
    services.refusals.stop()
    await services.records.stop()
    await services.store.close()
    mock.stop()
  }
})

test('writes nobody waits for, refused for the database taking none, are kept and written once it takes writes again', async () => {
  const path = join(dir, 'queue.db')
  // Rollback-journal mode: while its file is moved away, SQLite refuses every write (SQLITE_READONLY_DBMOVED), until it is back.
  const db = new Database(path)
  db.run('CREATE TABLE t (v INTEGER)')
  const errors: unknown[] = []
  const queue = new WriteQueue(db, (e) => errors.push(e), 5, 2_000, 50)
  const insert = db.prepare('INSERT INTO t (v) VALUES (?)')
  const told: string[] = []
  try {
    renameSync(path, `${path}.away`)
    queue.defer(() => void insert.run(1), () => told.push('written'))
    await Bun.sleep(150) // the linger, and two more tries
    expect(told).toEqual([])
    renameSync(`${path}.away`, path)
    await queue.flushed()
    expect({ told, rows: db.query('SELECT count(*) AS n FROM t').get() }).toEqual({ told: ['written'], rows: { n: 1 } })
    expect(errors.length).toBeGreaterThan(0)
    expect(errors.every((e) => (e as { code?: string }).code === 'SQLITE_READONLY_DBMOVED')).toBe(true)
  } finally {
    queue.close()
    db.close()
  }
})
