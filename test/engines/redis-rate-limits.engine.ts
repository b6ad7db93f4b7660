/**
 * test/rate-limit-arithmetic.test.ts on the Redis path, which takes the same step in Lua (src/redis/rate-limiter.ts
 * GCRA_SCRIPT) and recomputes the headers with gcraStep: the script and the step must reach the same numbers.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from '../support/gateway'
import { startRedis, type TestRedis } from '../support/redis-server'

let redis: TestRedis
let gw: TestGateway
beforeAll(async () => {
  redis = await startRedis()
  gw = await startTestGateway({ config: { rate_limit_per_min: 9, redis_url: redis.url } })
})
afterAll(async () => {
  await gw?.stop()
  await redis?.stop()
})

const rate = (h: Headers) => ({ limit: h.get('x-ratelimit-limit'), remaining: h.get('x-ratelimit-remaining') })

test('through Redis, a fresh client under rate_limit_per_min 9 is told 8 remain after its first request', async () => {
  // A fresh client: the loopback address's bucket is emptied in Redis.
  await redis.cli('FLUSHALL')
  const res = await fetch(`${gw.url}/v1/models`)
  expect(res.status).toBe(401)
  expect(rate(res.headers)).toEqual({ limit: '9', remaining: '8' })
})

test('through Redis, a burst under rate_limit_per_min 9: nine pass counting 8..0, the tenth is refused', async () => {
  await redis.cli('FLUSHALL')
  const seen: Array<number | string> = []
  for (let i = 0; i < 10; i++) {
    const res = await fetch(`${gw.url}/health`)
    seen.push(res.status === 200 ? Number(res.headers.get('x-ratelimit-remaining')) : res.status)
  }
  expect(seen).toEqual([8, 7, 6, 5, 4, 3, 2, 1, 0, 429])
})
