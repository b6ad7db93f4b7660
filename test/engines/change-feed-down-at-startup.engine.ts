/**
 * The change feed of a replica started while Redis was down: it serves (rate limits in their failure mode) and
 * caches keys with no subscription, so a change made meanwhile through another replica is published into the
 * void. Once Redis answers, its first subscription must forget every cached key and price, as a resubscription
 * does (README, Scaling out): a key revoked while the feed was down is not served from the cache after it connects.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { startMockProvider, type MockProvider } from '../support/mock-provider'
import { MASTER_KEY, spawnGateway, tempDir, type SpawnedGateway } from '../support/gateway'
import { startRedis, type TestRedis } from '../support/redis-server'
import { replicaEnvironment } from '../support/replicas'
import { within } from '../support/wait-for'
import { ChangeFeed } from '../../src/redis/change-feed'
import { RedisLink } from '../../src/redis/link'
import { createLogger } from '../../src/log/logger'
import type { KeyStore } from '../../src/keys/key-store'
import type { PriceBook } from '../../src/pricing/price-book'

/** Long enough that only the feed, never the cache's expiry, can make a replica see a revoke within the test. */
const CACHE_TTL_MS = 120_000

let redis: TestRedis
let mock: MockProvider
let dir: string
let a: SpawnedGateway
let b: SpawnedGateway

beforeAll(async () => {
  redis = await startRedis()
  await redis.stop()
  mock = startMockProvider()
  dir = tempDir('tollgate-feed-down-at-start-')
  const dbPath = join(dir, 'shared.db')
  const env = { ...replicaEnvironment({ redisUrl: redis.url, dbPath, masterKey: MASTER_KEY }), TOLLGATE_CACHE_TTL_MS: String(CACHE_TTL_MS) }
  a = await spawnGateway({ mock, dbPath, env })
  b = await spawnGateway({ mock, dbPath, env })
}, 60_000)

afterAll(async () => {
  await Promise.all([a, b].filter(Boolean).map((g) => g.stop()))
  await redis?.stop()
  await mock?.stop()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

let nextIp = 1
const models = (url: string, secret: string) =>
  fetch(`${url}/v1/models`, { headers: { authorization: `Bearer ${secret}`, 'x-forwarded-for': `198.51.100.${nextIp++}` } })
const subscribers = async () => Number((await redis.cli('pubsub', 'numsub', 'tollgate:changes')).split('\n')[1])

test('a key revoked through A while Redis was down since startup is refused by B once its feed connects', async () => {
  const { secret, keyId } = await a.userWithKey({ id: 'revoked-while-down' })
  expect((await models(b.url, secret)).status).toBe(200) // B caches it
  expect((await a.admin('DELETE', `/v1/keys/${keyId}`)).status).toBe(200) // its message is lost: no Redis
  expect((await models(b.url, secret)).status).toBe(200) // B serves it from its cache, as the TTL allows

  await redis.start()
  for (const g of [a, b])
    expect(await within(15_000, async () => ((await (await fetch(`${g.url}/health`)).json()) as any).redis === 'up')).toBeLessThan(15_000)
  expect(await within(15_000, async () => (await subscribers()) === 2)).toBeLessThan(15_000)
  // The subscription is in place; the caches are forgotten right after it (on the same turn of B's feed).
  const took = await within(2_000, async () => (await models(b.url, secret)).status === 401)
  expect(took).toBeLessThan(2_000)
}, 60_000)

test('a feed started with Redis down forgets every cached key and price on its first subscription, and only once', async () => {
  await redis.stop()
  let forgotAll = 0
  let pricesForgotten = 0
  const keys = { forget() {}, forgetUser() {}, forgetAll: () => forgotAll++ } as unknown as KeyStore
  const prices = { invalidate: () => pricesForgotten++ } as unknown as PriceBook
  const logger = createLogger('silent')
  const link = new RedisLink(redis.url, logger)
  const feed = new ChangeFeed(link, keys, prices, logger)
  try {
    await feed.start()
    expect(forgotAll).toBe(0)
    await redis.start()
    // Replicas A and B, and this feed.
    expect(await within(15_000, async () => (await subscribers()) === 3 && forgotAll === 1)).toBeLessThan(15_000)
    await Bun.sleep(300)
    expect({ forgotAll, pricesForgotten }).toEqual({ forgotAll: 1, pricesForgotten: 1 })
  } finally {
    link.stop()
  }
}, 60_000)
