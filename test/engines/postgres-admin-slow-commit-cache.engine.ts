/**
 * An admin change on Postgres whose COMMIT is slow (synchronous replication waiting for a standby, a slow fsync):
 * the admin is answered 503 at the deadline and the caches drop the change at once, but the COMMIT lands later. A
 * request in between reads the row as it still is (the commit not visible yet) and caches it. Once the COMMIT
 * lands the caches must drop it again, or a rotated-away secret, a deleted user's key or a price as it was stays
 * in force for the whole TTL (a minute here), where README promises "even then the change is seen at once, never
 * at the TTL". The slow COMMIT is a deferred constraint trigger that sleeps at commit time.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { SQL } from 'bun'
import { startMockProvider, type MockProvider } from '../support/mock-provider'
import { startTestGateway, type TestGateway } from '../support/gateway'
import { startPostgres, type TestPostgres } from './support/postgres'
import { slowCommits } from './support/slow-commit'

let pg: TestPostgres
let mock: MockProvider
let gw: TestGateway
let db: SQL
let slow: Awaited<ReturnType<typeof slowCommits>>
const DEADLINE_MS = 600
const COMMIT_SECONDS = 2

beforeAll(async () => {
  pg = await startPostgres()
  mock = startMockProvider()
  const url = await pg.database('slow_commit_stale_cache')
  gw = await startTestGateway({ mock, config: { database_url: url, database_timeout_ms: DEADLINE_MS, cache_ttl_ms: 60_000 } })
  db = new SQL(url)
  slow = await slowCommits(db, COMMIT_SECONDS)
}, 60_000)

afterAll(async () => {
  await gw?.stop()
  await db?.close()
  mock?.stop()
  await pg?.destroy()
})

const models = (secret: string) => fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } })

test('a rotation whose COMMIT lands after its 503: the old secret is refused once it has landed, not served from the cache for the TTL', async () => {
  await slow.on('api_keys', 'UPDATE', 'OLD.key_hash IS DISTINCT FROM NEW.key_hash')
  const { secret, keyId } = await gw.userWithKey({ id: 'slow-rotate' })
  const [before] = await db`SELECT key_hash FROM api_keys WHERE id = ${keyId}`
  expect((await models(secret)).status).toBe(200) // cached
  const rotate = await gw.admin('POST', `/v1/keys/${keyId}/rotate`)
  expect(rotate.status).toBe(503) // answered at the deadline, its COMMIT still running
  // Another request with the old secret in the meantime (any client, any replica): its cache entry was dropped, so it reads the row again.
  expect((await models(secret)).status).toBe(200)
  await slow.landed()
  const [after] = await db`SELECT key_hash FROM api_keys WHERE id = ${keyId}`
  expect(after.key_hash).not.toBe(before.key_hash) // the rotation did commit
  // The old secret is dead in the database: it must be refused, not served for the 60 s TTL.
  expect((await models(secret)).status).toBe(401)
}, 30_000)

// A user's keys go first, a batch at a time (a million keys are not one statement): it is the COMMIT of their
// deletion that lands late here, the user's own row going after it.
test("a user's deletion whose COMMIT lands after its 503: its key is refused once it has landed", async () => {
  await slow.on('api_keys', 'DELETE', "OLD.user_id = 'slow-delete'")
  const { secret } = await gw.userWithKey({ id: 'slow-delete' })
  expect((await models(secret)).status).toBe(200) // cached
  expect((await gw.admin('DELETE', '/v1/users/slow-delete')).status).toBe(503)
  expect((await models(secret)).status).toBe(200) // read again: the user and its key are still there
  await slow.landed()
  expect(await db`SELECT id FROM api_keys WHERE user_id = 'slow-delete'`).toEqual([]) // the deletion did commit
  expect((await models(secret)).status).toBe(401)
}, 30_000)

test('a price whose COMMIT lands after its 503 is in force once it has landed', async () => {
  const model = 'mock:gpt-slow-commit'
  await slow.on('prices', 'INSERT', `NEW.model = '${model}'`)
  expect((await gw.admin('GET', `/v1/pricing/${model}`)).status).toBe(404) // the price book is loaded
  expect((await gw.admin('POST', '/v1/pricing', { model, input_per_million: 3, output_per_million: 4 })).status).toBe(503)
  expect((await gw.admin('GET', `/v1/pricing/${model}`)).status).toBe(404) // read again: not committed yet
  await slow.landed()
  const inForce = await gw.admin('GET', `/v1/pricing/${model}`)
  expect([inForce.status, inForce.body?.input_per_million]).toEqual([200, 3])
}, 30_000)
