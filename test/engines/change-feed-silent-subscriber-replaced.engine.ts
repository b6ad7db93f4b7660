/**
 * Mutation guard. Only the subscriber connection dies silently (a NAT or firewall forgetting an
 * idle flow: the subscriber only listens, so nothing on it fails), while the commands connection keeps serving.
 * The link's subscriber check (link.ts: "The subscriber connection only listens: how often it is asked whether it
 * still answers") must find it and make it again, and the feed, subscribed again, forgets what it cached: a key
 * revoked through another replica meanwhile is then refused well before the cache TTL (60 s here). The existing
 * dead-host test silences both connections, where the commands' timeouts drop the subscriber too, so a link that
 * never checked its subscriber passed it. The relay silences just the subscribing connection.
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
let relay: TcpRelay
let a: SpawnedGateway
let b: SpawnedGateway

beforeAll(async () => {
  redis = await startRedis()
  relay = startTcpRelay(() => redis.port)
  mock = startMockProvider()
  dir = tempDir('tollgate-silent-sub-')
  const dbPath = join(dir, 'shared.db')
  const env = { TOLLGATE_CACHE_TTL_MS: '60000', TOLLGATE_LOG_LEVEL: 'info' }
  a = await spawnGateway({ mock, dbPath, env: { ...env, TOLLGATE_REDIS_URL: redis.address } })
  b = await spawnGateway({ mock, dbPath, env: { ...env, TOLLGATE_REDIS_URL: `redis://127.0.0.1:${relay.port}` } })
}, 60_000)

afterAll(async () => {
  await Promise.all([a, b].filter(Boolean).map((g) => g.stop()))
  relay?.stop()
  await redis?.stop()
  await mock?.stop()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

const models = (url: string, secret: string) => fetch(`${url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } })
const numsub = async () => Number((await redis.cli('pubsub', 'numsub', 'tollgate:changes')).split('\n')[1])

test("B's subscriber connection gone silent (its commands connection fine): B makes it again and refuses a key revoked meanwhile, long before the 60 s TTL", async () => {
  await within(5_000, async () => (await numsub()) === 2)
  const { secret, keyId } = await a.userWithKey({ id: 'silent-sub' })
  expect((await models(b.url, secret)).status).toBe(200) // B caches it (TTL 60 s)
  expect(relay.silence(true)).toBe(1)
  expect((await a.admin('DELETE', `/v1/keys/${keyId}`)).status).toBe(200) // lost on B's silent subscriber
  expect((await models(b.url, secret)).status).toBe(200) // B's commands connection serves; the key is still cached
  // The check runs every 5 s and gives a PING 1 s: B's subscriber is made again, subscribes, and forgets its cache.
  const took = await within(15_000, async () => (await models(b.url, secret)).status === 401 || (await Bun.sleep(200), false))
  expect({ refusedWithin15s: took < 15_000 }).toEqual({ refusedWithin15s: true })
}, 40_000)
