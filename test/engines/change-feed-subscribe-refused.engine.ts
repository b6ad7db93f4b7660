/**
 * A replica whose SUBSCRIBE Redis refuses: Redis 7 gives a new ACL user no channels (`acl-pubsub-default
 * resetchannels`), so `ACL SETUSER tollgate on >pw ~* +@all` runs the rate-limit script but gets NOPERM on
 * SUBSCRIBE. The change feed logs it (once), `/health` says the feed is down and why, and it tries again every
 * second: once the operator grants the channel, a key revoked through another replica is refused at once,
 * without a restart (the cache TTL is set long here to show that the feed, not the TTL, carries it).
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
  // Every command and key, but (Redis 7's default for a new user) no Pub/Sub channel.
  await redis.cli('ACL', 'SETUSER', 'tollgate', 'on', '>tollgate-user-pw-0123', '~*', '+@all')
  mock = startMockProvider()
  dir = tempDir('tollgate-feed-refused-')
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
const health = async (g: SpawnedGateway) => (await fetch(`${g.url}/health`)).json() as Promise<Record<string, unknown>>

test('a refused SUBSCRIBE is logged, and /health says the change feed is down and why', async () => {
  await Bun.sleep(500)
  expect(b.output()).toContain('could not subscribe')
  // Rate limits are shared all the same: Redis is up, its feed is not, for want of a right (NOPERM).
  expect(await health(b)).toEqual({ status: 'ok', redis: 'up', redis_changes: 'down', redis_error: 'authentication_failed', redis_failure: 'open' })
  expect(await subscribedGauge(b)).toBe(0)
}, 30_000)

test('once the ACL grants the channel, a key revoked through A is refused by B within seconds, without a restart', async () => {
  await redis.cli('ACL', 'SETUSER', 'tollgate', 'allchannels')
  // Time for a retry of the subscription (one a second).
  await Bun.sleep(3_000)
  expect(await health(b)).toEqual({ status: 'ok', redis: 'up', redis_failure: 'open' })
  expect(await subscribedGauge(b)).toBe(1)
  const { secret, keyId } = await a.userWithKey({ id: 'feed-refused' })
  expect((await models(b.url, secret)).status).toBe(200) // B caches it (TTL 60 s)
  expect((await a.admin('DELETE', `/v1/keys/${keyId}`)).status).toBe(200)
  const took = await within(2_000, async () => (await models(b.url, secret)).status === 401)
  const subscribers = Number((await redis.cli('pubsub', 'numsub', 'tollgate:changes')).split('\n')[1])
  expect({ refusedWithin2s: took < 2_000, subscribers }).toEqual({ refusedWithin2s: true, subscribers: 2 })
}, 30_000)
