/**
 * A replica whose connections drop (a network blip: here a TCP relay in front of Redis cuts them) while Redis
 * runs a long script (another application's job; `busy-reply-threshold` is 5 s by default, 100 ms here)
 * reconnects at once: Redis answers its HELLO but BUSY to its UNSUBSCRIBE and SUBSCRIBE, and Bun's promises for
 * those may never settle. The change feed gives each a deadline, drops the subscriber connection when one fails
 * and subscribes again a second later: once Redis is done, both replicas hear the channel again and a key revoked
 * through one is refused by the other at once, not after the cache TTL (60 s here).
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { startMockProvider, type MockProvider } from '../support/mock-provider'
import { spawnGateway, tempDir, type SpawnedGateway } from '../support/gateway'
import { startRedis, type TestRedis } from '../support/redis-server'
import { startTcpRelay, type TcpRelay } from '../support/tcp-relay'
import { within } from '../support/wait-for'

let redis: TestRedis
let mock: MockProvider
let dir: string
let a: SpawnedGateway
let b: SpawnedGateway
let address: TcpRelay

beforeAll(async () => {
  redis = await startRedis()
  // The address the replicas are given: a TCP relay to Redis, whose connections the test can cut.
  address = startTcpRelay(() => redis.port)
  mock = startMockProvider()
  dir = tempDir('tollgate-feed-busy-')
  const dbPath = join(dir, 'shared.db')
  const env = { TOLLGATE_REDIS_URL: `redis://127.0.0.1:${address.port}`, TOLLGATE_CACHE_TTL_MS: '60000', TOLLGATE_RATE_LIMIT_PER_MIN: '6000' }
  a = await spawnGateway({ mock, dbPath, env })
  b = await spawnGateway({ mock, dbPath, env })
}, 60_000)

afterAll(async () => {
  await Promise.all([a, b].filter(Boolean).map((g) => g.stop()))
  address?.stop()
  await redis?.stop()
  await mock?.stop()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

const models = (url: string, secret: string) => fetch(`${url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } })
const numsub = async () => Number((await redis.cli('pubsub', 'numsub', 'tollgate:changes')).split('\n')[1])

test('replicas that reconnect to a Redis busy with a script subscribe again once it is done; revocations reach them', async () => {
  expect(await within(5_000, async () => (await numsub()) === 2)).toBeLessThan(5_000)
  await redis.cli('CONFIG', 'SET', 'busy-reply-threshold', '100')
  // A long script, killable (it writes nothing), running while the replicas' connections drop and come back.
  void redis.cli('EVAL', 'while true do end', '0')
  await Bun.sleep(300)
  address.cut()
  await Bun.sleep(3_000)
  expect(await redis.cli('SCRIPT', 'KILL')).toBe('OK')
  // And once more with Redis well: a connection that drops now must surely subscribe again.
  await Bun.sleep(500)
  address.cut()
  for (const g of [a, b])
    expect(await within(10_000, async () => ((await (await fetch(`${g.url}/health`)).json()) as any).redis === 'up')).toBeLessThan(10_000)
  // Both replicas are subscribed again within a few seconds of Redis answering normally.
  const subscribedAgain = await within(5_000, async () => (await numsub()) === 2)
  const { secret, keyId } = await a.userWithKey({ id: 'feed-busy' })
  expect((await models(b.url, secret)).status).toBe(200) // B caches it
  expect((await a.admin('DELETE', `/v1/keys/${keyId}`)).status).toBe(200)
  const took = await within(2_000, async () => (await models(b.url, secret)).status === 401)
  expect({ subscribedAgain: subscribedAgain < 5_000, revokedOnB: took < 2_000 }).toEqual({ subscribedAgain: true, revokedOnB: true })
}, 90_000)
