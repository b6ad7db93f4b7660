/**
 * An admin write on Postgres whose COMMIT reached the server, and committed, but whose answer was lost with its
 * connection (a reset, a proxy dropping it, a failover): the admin is answered an error, yet the change is in
 * force. The caches must drop what they held all the same (and the change feed tell the other replicas), or
 * the change would take effect silently only as each cache ran out: a rotated key's old secret still served,
 * a revoked key still working, a price set not charged. Here the cache lives a minute, so only a dropped entry
 * shows the change.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from '../support/mock-provider'
import { startTestGateway, type TestGateway } from '../support/gateway'
import { startPostgres, type TestPostgres } from './support/postgres'
import { commitCutter, type CommitCutter } from './support/commit-cutter'

let pg: TestPostgres
let mock: MockProvider
let gw: TestGateway
let relay: CommitCutter

beforeAll(async () => {
  pg = await startPostgres()
  mock = startMockProvider()
  const url = await pg.database('admin_commit_answer_lost')
  relay = commitCutter(pg.port)
  gw = await startTestGateway({ mock, config: { database_url: url.replace(`:${pg.port}/`, `:${relay.port}/`), cache_ttl_ms: 60_000 } })
}, 60_000)

afterAll(async () => {
  await gw?.stop()
  relay?.stop()
  mock?.stop()
  await pg?.destroy()
})

/** Runs the admin call with the next COMMIT's answer lost, once the background writes of earlier requests are done. */
async function answerLost(call: () => Promise<{ status: number }>) {
  await gw.settled()
  await Bun.sleep(300)
  const before = relay.cuts()
  relay.arm()
  const { status } = await call()
  relay.disarm()
  expect(relay.cuts()).toBe(before + 1)
  return status
}

const models = (secret: string) => fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } })

test('a rotation committed with its answer lost: the old secret is refused at once, not served from the cache', async () => {
  const { secret, keyId } = await gw.userWithKey({ id: 'rotate-lost' })
  const before = (await gw.admin('GET', `/v1/keys/${keyId}`)).body.key_prefix
  expect((await models(secret)).status).toBe(200) // cached
  expect(await answerLost(() => gw.admin('POST', `/v1/keys/${keyId}/rotate`))).not.toBe(200)
  expect((await gw.admin('GET', `/v1/keys/${keyId}`)).body.key_prefix).not.toBe(before) // it did commit
  expect((await models(secret)).status).toBe(401)
}, 30_000)

test('a revocation committed with its answer lost: the key is refused at once', async () => {
  const { secret, keyId } = await gw.userWithKey({ id: 'revoke-lost' })
  expect((await models(secret)).status).toBe(200)
  expect(await answerLost(() => gw.admin('DELETE', `/v1/keys/${keyId}`))).not.toBe(200)
  expect((await gw.admin('GET', `/v1/keys/${keyId}`)).body.revoked_at).not.toBeNull()
  expect((await models(secret)).status).toBe(401)
}, 30_000)

test('a price committed with its answer lost is in force at once', async () => {
  const model = 'mock:gpt-lost-answer'
  expect((await gw.admin('GET', `/v1/pricing/${model}`)).status).toBe(404) // the price book is loaded
  expect(await answerLost(() => gw.admin('POST', '/v1/pricing', { model, input_per_million: 3, output_per_million: 4 }))).not.toBe(201)
  const inForce = await gw.admin('GET', `/v1/pricing/${model}`)
  expect([inForce.status, inForce.body?.input_per_million]).toEqual([200, 3])
}, 30_000)
