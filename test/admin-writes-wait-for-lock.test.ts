/**
 * Another connection (a sibling worker of a TOLLGATE_WORKERS group flushing a large batch or checkpointing
 * with TRUNCATE at its stop, an operator's sqlite3 shell) holds the write lock for a few hundred milliseconds,
 * well inside the busy timeout (5 s). The admin writes made outside the write queue (revoking a key, changing
 * a budget, creating a key, a price) wait for it on the event loop as the queue's writes do, and are written
 * once it goes: not refused 503 database_busy after the serving connection's 20 ms busy handler (LOCK_WAIT_MS).
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { Database } from 'bun:sqlite'
import { MASTER_KEY, startTestGateway, type TestGateway } from './support/gateway'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { BUSY_TIMEOUT_MS } from '../src/db/open'

let mock: MockProvider
let gw: TestGateway

beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock })
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})

/** Holds the write lock from another connection for `ms`. */
async function holdWriteLock(ms: number): Promise<void> {
  const other = new Database(gw.dbPath)
  other.exec('PRAGMA busy_timeout = 3000')
  other.exec('BEGIN IMMEDIATE')
  await Bun.sleep(ms)
  other.exec('ROLLBACK')
  other.close()
}

test('admin writes made while another connection holds the write lock for 300 ms wait for it (busy timeout 5 s), not 503', async () => {
  const { keyId } = await gw.userWithKey({ id: 'locked-admin', max_budget: 10 })
  await gw.settled()
  const held = holdWriteLock(300)
  await Bun.sleep(50)
  const started = Date.now()
  const [revoke, patch, create, price] = await Promise.all([
    gw.admin('DELETE', `/v1/keys/${keyId}`),
    gw.admin('PATCH', '/v1/users/locked-admin', { max_budget: 5 }),
    gw.admin('POST', '/v1/keys', { user_id: 'locked-admin' }),
    gw.admin('POST', '/v1/pricing', { model: 'mock:gpt-other', input_per_million: 1, output_per_million: 1 }),
  ])
  const ms = Date.now() - started
  await held
  expect({
    revoke: [revoke.status, revoke.body?.error?.code],
    patch: [patch.status, patch.body?.error?.code],
    create: [create.status, create.body?.error?.code],
    price: [price.status, price.body?.error?.code],
  }).toEqual({ revoke: [200, undefined], patch: [200, undefined], create: [201, undefined], price: [201, undefined] })
  expect(ms).toBeLessThan(BUSY_TIMEOUT_MS)
  // What they did was written.
  expect(gw.query('SELECT revoked_at IS NOT NULL AS revoked FROM api_keys WHERE id = ?', keyId)[0].revoked).toBe(1)
  expect(gw.query("SELECT max_budget FROM users WHERE id = 'locked-admin'")[0].max_budget).toBe(5_000_000)
}, 20_000)

test('revoking a key (nothing else queued) while another connection holds the write lock for 300 ms: revoked, not 503', async () => {
  const { keyId } = await gw.userWithKey({ id: 'locked-revoke' })
  await gw.settled()
  await Bun.sleep(100)
  const held = holdWriteLock(300)
  await Bun.sleep(20)
  const revoke = await gw.admin('DELETE', `/v1/keys/${keyId}`)
  await held
  expect([revoke.status, revoke.body?.error?.code]).toEqual([200, undefined])
  expect(gw.query('SELECT revoked_at IS NOT NULL AS revoked FROM api_keys WHERE id = ?', keyId)[0].revoked).toBe(1)
}, 20_000)

test('console sign-in, rotating a key, unpricing a model, creating and deleting a user wait for the lock too', async () => {
  const { keyId } = await gw.userWithKey({ id: 'locked-others' })
  await gw.admin('POST', '/v1/pricing', { model: 'mock:gpt-unpriced', input_per_million: 1, output_per_million: 1 })
  await gw.admin('POST', '/v1/users', { id: 'locked-gone' })
  await gw.settled()
  const held = holdWriteLock(300)
  await Bun.sleep(50)
  const signIn = fetch(`${gw.url}/v1/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: gw.url },
    body: JSON.stringify({ key: MASTER_KEY }),
  }).then((r) => r.status)
  const [session, rotate, unprice, create, remove] = await Promise.all([
    signIn,
    gw.admin('POST', `/v1/keys/${keyId}/rotate`).then((r) => r.status),
    gw.admin('DELETE', '/v1/pricing/mock:gpt-unpriced').then((r) => r.status),
    gw.admin('POST', '/v1/users', { id: 'locked-new' }).then((r) => r.status),
    gw.admin('DELETE', '/v1/users/locked-gone').then((r) => r.status),
  ])
  await held
  expect({ session, rotate, unprice, create, remove }).toEqual({ session: 200, rotate: 200, unprice: 200, create: 201, remove: 200 })
  expect(gw.query('SELECT count(*) AS n FROM console_sessions')[0].n).toBe(1)
}, 20_000)
