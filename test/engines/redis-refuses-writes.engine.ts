/**
 * Red team (jn): a Redis that answers but refuses writes — at its `maxmemory` under `noeviction` (`OOM command not
 * allowed…`), `min-replicas-to-write` unmet (`NOREPLICAS`), a failed snapshot (`MISCONF`), busy in a script (`BUSY`)
 * — cannot count, so the failure mode applies as for an outage. But it was told as one: the log said "redis
 * unreachable" (sending the operator to the network) and /health only `"redis": "down"`. Now it has its own log line
 * naming Redis's error and a `redis_error` in /health, and the link comes back once Redis takes writes again.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { spawnGateway, type SpawnedGateway } from '../support/gateway'
import { startMockProvider, type MockProvider } from '../support/mock-provider'
import { startRedis, type TestRedis } from '../support/redis-server'
import { untilRedisUp, waitFor } from '../support/wait-for'

let redis: TestRedis
let mock: MockProvider
let closed: SpawnedGateway
let open: SpawnedGateway
beforeAll(async () => {
  redis = await startRedis()
  mock = startMockProvider()
  const env = (failure: string) => ({ TOLLGATE_REDIS_URL: redis.url, TOLLGATE_REDIS_FAILURE: failure, TOLLGATE_RATE_LIMIT_PER_MIN: '1000', TOLLGATE_LOG_LEVEL: 'info' })
  ;[closed, open] = await Promise.all([spawnGateway({ mock, env: env('closed') }), spawnGateway({ mock, env: env('open') })])
  for (const g of [closed, open]) await untilRedisUp(g.url)
}, 60_000)
afterAll(async () => {
  await Promise.all([closed, open].filter(Boolean).map((g) => g.stop()))
  await redis?.stop()
  await mock?.stop()
})

const health = async (g: SpawnedGateway) => {
  const res = await fetch(`${g.url}/health`)
  return { code: res.status, ...((await res.json()) as Record<string, unknown>) } as Record<string, unknown>
}
const logLines = (g: SpawnedGateway, text: string) => g.output().split('\n').filter((l) => l.includes(text))

for (const [name, refuse, accept, error, code] of [
  ['at its maxmemory (OOM)', ['CONFIG', 'SET', 'maxmemory', '1'], ['CONFIG', 'SET', 'maxmemory', '0'], 'out_of_memory', 'OOM'],
  ['without the replicas it requires (NOREPLICAS)', ['CONFIG', 'SET', 'min-replicas-to-write', '1'], ['CONFIG', 'SET', 'min-replicas-to-write', '0'], 'no_replicas', 'NOREPLICAS'],
] as const) {
  describe(`a Redis ${name}`, () => {
    test('is down for rate limits in the configured mode, told as refusing writes (not unreachable), and up again once it takes them', async () => {
      const users = await Promise.all([closed, open].map((g) => g.userWithKey({ id: `refuses-${code}` })))
      const call = (g: SpawnedGateway, secret: string) => fetch(`${g.url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } })
      const calls = async () => {
        const [c, o] = [await call(closed, users[0]!.secret), await call(open, users[1]!.secret)]
        return { closed: c.status === 503 ? ((await c.json()) as any).error?.code : c.status, open: o.status }
      }
      expect(await calls()).toEqual({ closed: 200, open: 200 })

      const refusing = async () => {
        expect(await redis.cli('PING')).toBe('PONG')
        await calls()
        expect(await waitFor(5_000, async () => (await health(closed)).redis === 'down' && (await health(open)).redis === 'down')).toBe(true)
        expect(await calls()).toEqual({ closed: 'rate_limiter_unavailable', open: 200 })
        expect([await health(closed), await health(open)]).toEqual([
          { code: 503, status: 'unavailable', redis: 'down', redis_error: error, redis_failure: 'closed' },
          { code: 200, status: 'ok', redis: 'down', redis_error: error, redis_failure: 'open' },
        ])
        for (const g of [closed, open]) {
          expect(logLines(g, 'redis unreachable')).toEqual([])
          // Once, with Redis's own words (its error field starts with the code).
          expect(logLines(g, 'redis refuses writes').filter((l) => l.includes(`"error":"${code} `))).toHaveLength(1)
        }
      }
      expect(await redis.cli(...refuse)).toBe('OK')
      try {
        await refusing()
      } finally {
        // Left refusing, it would fail the next case too.
        await redis.cli(...accept)
      }

      expect(await waitFor(5_000, async () => (await health(closed)).redis === 'up' && (await health(open)).redis === 'up')).toBe(true)
      expect([await health(closed), await health(open)]).toEqual([
        { code: 200, status: 'ok', redis: 'up', redis_failure: 'closed' },
        { code: 200, status: 'ok', redis: 'up', redis_failure: 'open' },
      ])
      expect(await calls()).toEqual({ closed: 200, open: 200 })
    }, 60_000)
  })
}
