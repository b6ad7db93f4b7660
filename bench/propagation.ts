/**
 * Redis between replicas (issue 14): how long a key revoked through one replica stays usable on another
 * (typical propagation time; the engines test only asserts it is under 1 s), and what the shared rate
 * limiter adds to a request over the in-memory one. Needs Debian's redis-server.
 *
 *   bun bench/propagation.ts [rounds] [requests]
 */
import { join } from 'node:path'
import { startMockProvider } from '../test/support/mock-provider'
import { MASTER_KEY, spawnGateway, tempDir, type SpawnedGateway } from '../test/support/gateway'
import { startRedis } from '../test/support/redis-server'
import { replicaEnvironment } from '../test/support/replicas'

const rounds = Number(process.argv[2] ?? 50)
const requests = Number(process.argv[3] ?? 2000)

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!
const ms = (x: number) => `${x.toFixed(2)} ms`

const redis = await startRedis()
const mock = startMockProvider()
const dir = tempDir('tollgate-bench-propagation-')
const dbPath = join(dir, 'shared.db')
const env = { ...replicaEnvironment({ redisUrl: redis.url, dbPath, masterKey: MASTER_KEY }), TOLLGATE_LOG_LEVEL: 'warn', TOLLGATE_RATE_LIMIT_PER_MIN: '1000000' }
const a = await spawnGateway({ mock, dbPath, env })
const b = await spawnGateway({ mock, dbPath, env })
const local = await spawnGateway({ mock, env: { TOLLGATE_LOG_LEVEL: 'warn', TOLLGATE_RATE_LIMIT_PER_MIN: '1000000' } })

const models = (g: SpawnedGateway, secret: string) => fetch(`${g.url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } })

try {
  // 1. Revocation: from the DELETE's answer on A to the first 401 on B, which had the key cached.
  const delays: number[] = []
  for (let i = 0; i < rounds; i++) {
    const { secret, keyId } = await a.userWithKey({ id: `revoke-${i}` })
    if ((await models(b, secret)).status !== 200) throw new Error('key not usable on B')
    await a.admin('DELETE', `/v1/keys/${keyId}`)
    const start = performance.now()
    while ((await models(b, secret)).status !== 401) if (performance.now() - start > 10_000) throw new Error('never refused')
    delays.push(performance.now() - start)
  }

  // 2. Rate limiting in Redis vs in memory: sequential requests with a key limit that never refuses.
  const latency = async (g: SpawnedGateway, id: string) => {
    const { secret } = await g.userWithKey({ id }, { rpm_limit: 1_000_000 })
    const times: number[] = []
    for (let i = 0; i < requests; i++) {
      const start = performance.now()
      await (await models(g, secret)).arrayBuffer()
      times.push(performance.now() - start)
    }
    return times
  }
  const memory = await latency(local, 'lat-memory')
  const shared = await latency(a, 'lat-redis')

  console.log(`\nrevoked through A, refused by B (${rounds} rounds; includes one request round trip to B):`)
  console.log(`  p50 ${ms(pct(delays, 50))}  p90 ${ms(pct(delays, 90))}  max ${ms(Math.max(...delays))}`)
  console.log(`\nGET /v1/models, sequential, per-IP and per-key limits on (${requests} requests each):`)
  console.log(`  in memory  p50 ${ms(pct(memory, 50))}  p99 ${ms(pct(memory, 99))}`)
  console.log(`  Redis      p50 ${ms(pct(shared, 50))}  p99 ${ms(pct(shared, 99))}`)
  console.log(`  added by Redis: p50 ${ms(pct(shared, 50) - pct(memory, 50))}`)
} finally {
  await Promise.all([a.stop(), b.stop(), local.stop()])
  await redis.stop()
  await mock.stop()
}
