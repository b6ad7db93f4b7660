/**
 * A sibling worker (TOLLGATE_WORKERS, or another process on the same file) deletes a user while one of this
 * process's admin writes for that user, or for one of its keys, waits for the write lock: the route looked the
 * user (the key) up before it waited, and writes after. The answer is a 404 naming what is gone, never a 500 (a
 * foreign-key failure on a key's insert; no row, presented as a key) nor a 409 saying the user is busy.
 * test/engines/postgres-admin-writes-user-deleted.engine.ts holds the same on Postgres.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { Database } from 'bun:sqlite'
import { startTestGateway, type TestGateway } from './support/gateway'

let gw: TestGateway

beforeAll(async () => {
  gw = await startTestGateway()
})
afterAll(async () => {
  await gw.stop()
})

/**
 * Takes the write lock from another connection, lets `request` start (it reads, then waits for the lock),
 * then deletes the user as DELETE /v1/users does (its keys go with it) and commits.
 */
async function deleteUserWhileWaiting<T>(userId: string, request: () => Promise<T>): Promise<T> {
  // Nothing of this process's left queued (the request log's rows): the route's reads go ahead, its write waits.
  await gw.settled()
  await Bun.sleep(100)
  const other = new Database(gw.dbPath)
  try {
    other.exec('PRAGMA foreign_keys = ON')
    other.exec('PRAGMA busy_timeout = 3000')
    other.exec('BEGIN IMMEDIATE')
    const answer = request()
    await Bun.sleep(150)
    other.query('DELETE FROM users WHERE id = ?').run(userId)
    other.exec('COMMIT')
    return answer
  } finally {
    other.close()
  }
}

test('POST /v1/keys for a user another worker deleted meanwhile → 404 user_not_found, and no key', async () => {
  await gw.admin('POST', '/v1/users', { id: 'gone-on-create' })
  const r = await deleteUserWhileWaiting('gone-on-create', () => gw.admin('POST', '/v1/keys', { user_id: 'gone-on-create' }))
  expect([r.status, r.body?.error?.code]).toEqual([404, 'user_not_found'])
  expect((await gw.admin('GET', '/v1/keys?user_id=gone-on-create')).body.data).toEqual([])
}, 20_000)

test('PATCH /v1/keys/{id} of a key whose user another worker deleted meanwhile → 404 key_not_found', async () => {
  const { keyId } = await gw.userWithKey({ id: 'gone-on-patch' })
  const r = await deleteUserWhileWaiting('gone-on-patch', () => gw.admin('PATCH', `/v1/keys/${keyId}`, { name: 'renamed' }))
  expect([r.status, r.body?.error?.code]).toEqual([404, 'key_not_found'])
}, 20_000)

test('PATCH /v1/keys/{id} giving a ceiling (its holds taken over) to a key deleted meanwhile → 404 key_not_found', async () => {
  const { keyId } = await gw.userWithKey({ id: 'gone-on-ceiling' })
  const r = await deleteUserWhileWaiting('gone-on-ceiling', () => gw.admin('PATCH', `/v1/keys/${keyId}`, { max_budget: 1 }))
  expect([r.status, r.body?.error?.code]).toEqual([404, 'key_not_found'])
}, 20_000)

test('revoking or rotating a key deleted meanwhile → 404 key_not_found', async () => {
  for (const [method, path] of [['DELETE', ''], ['POST', '/rotate']] as const) {
    const { keyId } = await gw.userWithKey({ id: `gone-on-${method}` })
    const r = await deleteUserWhileWaiting(`gone-on-${method}`, () => gw.admin(method, `/v1/keys/${keyId}${path}`))
    expect([method, r.status, r.body?.error?.code]).toEqual([method, 404, 'key_not_found'])
  }
}, 20_000)

test('DELETE /v1/users/{id} of a user another worker deleted meanwhile → 404 user_not_found, not 409 "in flight"', async () => {
  await gw.admin('POST', '/v1/users', { id: 'gone-twice' })
  const r = await deleteUserWhileWaiting('gone-twice', () => gw.admin('DELETE', '/v1/users/gone-twice'))
  expect([r.status, r.body?.error?.code]).toEqual([404, 'user_not_found'])
}, 20_000)

test('PATCH /v1/users/{id} of a user another worker deleted meanwhile → 404 user_not_found', async () => {
  await gw.admin('POST', '/v1/users', { id: 'gone-on-user-patch' })
  const r = await deleteUserWhileWaiting('gone-on-user-patch', () => gw.admin('PATCH', '/v1/users/gone-on-user-patch', { budget_period: 'daily' }))
  expect([r.status, r.body?.error?.code]).toEqual([404, 'user_not_found'])
}, 20_000)
