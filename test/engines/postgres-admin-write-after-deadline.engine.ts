/**
 * On Postgres an admin write waits for the locks it needs, within the database deadline: one still waiting then
 * is answered 503 database_unavailable, and must be rolled back, never committed once the lock goes. A write
 * that landed after its caller was told it failed would be told to no replica (no cache invalidation, no
 * change-feed message), and would take effect silently as each cache ran out: a rotation whose new secret
 * nobody saw, with the working secret dead; a price nobody set. README: "a transaction that outlives it … is
 * rolled back when it ends rather than committed after its caller was refused".
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { SQL } from 'bun'
import { startMockProvider, type MockProvider } from '../support/mock-provider'
import { spawnGateway, type SpawnedGateway } from '../support/gateway'
import { startPostgres, type TestPostgres } from './support/postgres'

let pg: TestPostgres
let mock: MockProvider
let gw: SpawnedGateway
let db: SQL
const DEADLINE = 800
const CACHE_TTL = 300

beforeAll(async () => {
  pg = await startPostgres()
  mock = startMockProvider()
  const url = await pg.database('admin_write_after_deadline')
  gw = await spawnGateway({
    mock,
    env: { TOLLGATE_DATABASE_URL: url, TOLLGATE_DATABASE_TIMEOUT_MS: String(DEADLINE), TOLLGATE_CACHE_TTL_MS: String(CACHE_TTL) },
  })
  db = new SQL(url)
}, 60_000)

afterAll(async () => {
  await gw?.stop()
  await db?.close()
  mock?.stop()
  await pg?.destroy()
})

/**
 * Runs `during` while another session holds the lock `lock` takes (in a transaction of its own, as a reservation
 * batch, a PATCH or an index build would), then lets it go.
 */
async function whileLocked(lock: (tx: SQL) => Promise<unknown>, during: () => Promise<void>) {
  let release!: () => void
  const released = new Promise<void>((r) => (release = r))
  let locked!: () => void
  const isLocked = new Promise<void>((r) => (locked = r))
  const tx = db.begin(async (t) => {
    await lock(t)
    locked()
    await released
  })
  await isLocked
  try {
    await during()
  } finally {
    release()
    await tx
  }
}

/** Long enough for a write let through by the released lock to commit, and for every cache to run out. */
const afterTheLockAndTheCache = () => Bun.sleep(CACHE_TTL + 400)

const models = (secret: string) => fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } })

test('a rotate answered 503 leaves the key as it was: its secret still works, its prefix unchanged', async () => {
  const { secret, keyId } = await gw.userWithKey({ id: 'rotate-late' })
  const before = (await gw.admin('GET', `/v1/keys/${keyId}`)).body.key_prefix
  expect((await models(secret)).status).toBe(200)
  let rotated = 0
  await whileLocked((t) => t`SELECT 1 FROM api_keys WHERE id = ${keyId} FOR UPDATE`, async () => {
    rotated = (await gw.admin('POST', `/v1/keys/${keyId}/rotate`)).status
  })
  expect(rotated).toBe(503) // the admin is told it failed, and is shown no new secret
  await afterTheLockAndTheCache()
  const after = { prefix: (await gw.admin('GET', `/v1/keys/${keyId}`)).body.key_prefix, oldSecret: (await models(secret)).status }
  expect(after).toEqual({ prefix: before, oldSecret: 200 })
}, 30_000)

test('a revoke answered 503 leaves the key working, as the admin was told', async () => {
  const { secret, keyId } = await gw.userWithKey({ id: 'revoke-late' })
  expect((await models(secret)).status).toBe(200)
  let revoked = 0
  await whileLocked((t) => t`SELECT 1 FROM api_keys WHERE id = ${keyId} FOR UPDATE`, async () => {
    revoked = (await gw.admin('DELETE', `/v1/keys/${keyId}`)).status
  })
  expect(revoked).toBe(503)
  await afterTheLockAndTheCache()
  const after = { revokedAt: (await gw.admin('GET', `/v1/keys/${keyId}`)).body.revoked_at, secret: (await models(secret)).status }
  expect(after).toEqual({ revokedAt: null, secret: 200 })
  // The admin's retry revokes it.
  expect((await gw.admin('DELETE', `/v1/keys/${keyId}`)).status).toBe(200)
  expect((await models(secret)).status).toBe(401)
}, 30_000)

test('a price set answered 503 is not in force afterwards', async () => {
  const model = 'mock:gpt-late-price'
  let set = 0
  await whileLocked((t) => t.unsafe('LOCK TABLE prices IN SHARE MODE'), async () => {
    set = (await gw.admin('POST', '/v1/pricing', { model, input_per_million: 1, output_per_million: 1 })).status
  })
  expect(set).toBe(503)
  await afterTheLockAndTheCache()
  expect((await gw.admin('GET', `/v1/pricing/${model}`)).status).toBe(404)
  expect((await gw.admin('GET', `/v1/pricing/history?model=${model}`)).body.data).toEqual([])
}, 30_000)

test('a user created with a 503 does not exist afterwards, and its id is free', async () => {
  const id = 'user-late'
  let created = 0
  await whileLocked((t) => t.unsafe('LOCK TABLE users IN SHARE MODE'), async () => {
    created = (await gw.admin('POST', '/v1/users', { id, max_budget: 5 })).status
  })
  expect(created).toBe(503)
  await afterTheLockAndTheCache()
  expect((await gw.admin('GET', `/v1/users/${id}`)).status).toBe(404)
  expect((await gw.admin('POST', '/v1/users', { id, max_budget: 5 })).status).toBe(201)
}, 30_000)
