/**
 * For a test file: two replicas (A, B) on one SQLite file sharing a Redis whose ACL user `tollgate` may run every
 * command on every key but (Redis 7's default for a new user) no Pub/Sub channel, so their SUBSCRIBE is refused
 * (NOPERM) until the test grants it. The cache TTL is 60 s, so only the change feed can carry a change within a test.
 * Started before the file's tests, stopped after them; the fields are set once they are started.
 */
import { afterAll, beforeAll } from 'bun:test'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { spawnGateway, tempDir, type SpawnedGateway } from '../../support/gateway'
import { startMockProvider, type MockProvider } from '../../support/mock-provider'
import { startRedis, type TestRedis } from '../../support/redis-server'

const METRICS_TOKEN = 'test-metrics-token-0123456789'

export interface FeedRefusedReplicas {
  redis: TestRedis
  a: SpawnedGateway
  b: SpawnedGateway
}

export function withFeedRefusedReplicas(dirPrefix: string): FeedRefusedReplicas {
  const h = {} as FeedRefusedReplicas
  let mock: MockProvider | undefined
  let dir: string | undefined
  beforeAll(async () => {
    h.redis = await startRedis()
    await h.redis.cli('ACL', 'SETUSER', 'tollgate', 'on', '>tollgate-user-pw-0123', '~*', '+@all')
    mock = startMockProvider()
    dir = tempDir(dirPrefix)
    const dbPath = join(dir, 'shared.db')
    const env = {
      TOLLGATE_REDIS_URL: `redis://tollgate:tollgate-user-pw-0123@127.0.0.1:${h.redis.port}`,
      TOLLGATE_CACHE_TTL_MS: '60000',
      TOLLGATE_LOG_LEVEL: 'info',
      TOLLGATE_METRICS_ENABLED: 'true',
      TOLLGATE_METRICS_TOKEN: METRICS_TOKEN,
    }
    h.a = await spawnGateway({ mock, dbPath, env })
    h.b = await spawnGateway({ mock, dbPath, env })
  }, 60_000)
  afterAll(async () => {
    await Promise.all([h.a, h.b].filter(Boolean).map((g) => g.stop()))
    await h.redis?.stop()
    await mock?.stop()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })
  return h
}

/** GET /v1/models with the key `secret`: 200 while the replica takes the key, 401 once it knows it revoked. */
export const models = (url: string, secret: string) => fetch(`${url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } })

/** The replica's tollgate_redis_changes_subscribed gauge: 1 while its change feed is subscribed. */
export const subscribedGauge = async (g: SpawnedGateway) => {
  const text = await (await fetch(`${g.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text()
  return Number(/^tollgate_redis_changes_subscribed (\S+)$/m.exec(text)?.[1])
}
