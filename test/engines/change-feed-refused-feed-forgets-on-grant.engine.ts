/**
 * Mutation guard. A replica whose SUBSCRIBE Redis refused (NOPERM: the ACL lacks the channel) hears
 * nothing while it is refused: a key revoked through another replica meanwhile stays in its cache. Once the
 * operator grants the channel and it subscribes, it must forget every cached key (change-feed.ts: "A replica
 * whose subscription was broken subscribes again and forgets every cached key and price: it cannot know what it
 * missed"), so the revoked key is refused at once, not after the cache TTL (60 s here). The existing
 * change-feed-subscribe-refused test revokes only after the grant, so a feed that skipped the forgetting after a
 * failed subscription passed it.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { startMockProvider, type MockProvider } from '../support/mock-provider'
import { spawnGateway, tempDir, type SpawnedGateway } from '../support/gateway'
import { startRedis, type TestRedis } from '../support/redis-server'
import { within } from '../support/wait-for'

const METRICS_TOKEN = 'test-metrics-token-0123456789'
let redis: TestRedis
let mock: MockProvider
let dir: string
let a: SpawnedGateway
let b: SpawnedGateway

beforeAll(async () => {
  redis = await startRedis()
  await redis.cli('ACL', 'SETUSER', 'tollgate', 'on', '>tollgate-user-pw-0123', '~*', '+@all')
  mock = startMockProvider()
  dir = tempDir('tollgate-refused-')
  const dbPath = join(dir, 'shared.db')
  const env = {
    TOLLGATE_REDIS_URL: `redis://tollgate:tollgate-user-pw-0123@127.0.0.1:${redis.port}`,
    TOLLGATE_CACHE_TTL_MS: '60000',
    TOLLGATE_LOG_LEVEL: 'info',
    TOLLGATE_METRICS_ENABLED: 'true',
    TOLLGATE_METRICS_TOKEN: METRICS_TOKEN,
  }
  a = await spawnGateway({ mock, dbPath, env })
  b = await spawnGateway({ mock, dbPath, env })
}, 60_000)

afterAll(async () => {
  await Promise.all([a, b].filter(Boolean).map((g) => g.stop()))
  await redis?.stop()
  await mock?.stop()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

const models = (url: string, secret: string) => fetch(`${url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } })
const subscribedGauge = async (g: SpawnedGateway) => {
  const text = await (await fetch(`${g.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text()
  return Number(/^tollgate_redis_changes_subscribed (\S+)$/m.exec(text)?.[1])
}

test('a key revoked through A while B\'s SUBSCRIBE was refused is refused by B as soon as the grant lets B subscribe (not after the 60 s TTL)', async () => {
  await Bun.sleep(500)
  expect(await subscribedGauge(b)).toBe(0)
  const { secret, keyId } = await a.userWithKey({ id: 'refused' })
  expect((await models(b.url, secret)).status).toBe(200) // B caches it (TTL 60 s)
  expect((await a.admin('DELETE', `/v1/keys/${keyId}`)).status).toBe(200) // B does not hear it: refused
  expect((await models(b.url, secret)).status).toBe(200) // still cached on B (the TTL backstop)
  await redis.cli('ACL', 'SETUSER', 'tollgate', 'allchannels')
  await within(5_000, async () => (await subscribedGauge(b)) === 1)
  expect(await subscribedGauge(b)).toBe(1)
  // Subscribed again: B cannot know what it missed, so it reads the key again.
  expect((await models(b.url, secret)).status).toBe(401)
}, 30_000)
