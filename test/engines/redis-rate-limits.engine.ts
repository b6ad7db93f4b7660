/**
 * test/rate-limit-arithmetic.test.ts on the Redis path, which takes the same step in Lua (src/redis/rate-limiter.ts
 * GCRA_SCRIPT) and recomputes the headers with gcraStep: the script and the step must reach the same numbers,
 * a changed limit included.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from '../support/gateway'
import { startRedis, type TestRedis } from '../support/redis-server'
import { untilRedisUp } from '../support/wait-for'

let redis: TestRedis
let gw: TestGateway
/** No per-IP limit: the headers describe the key's own (the tighter limit's otherwise). */
let keyed: TestGateway
beforeAll(async () => {
  redis = await startRedis()
  gw = await startTestGateway({ config: { rate_limit_per_min: 9, redis_url: redis.url } })
  keyed = await startTestGateway({ config: { redis_url: redis.url } })
  await Promise.all([untilRedisUp(gw.url), untilRedisUp(keyed.url)])
})
afterAll(async () => {
  await gw?.stop()
  await keyed?.stop()
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

test('through Redis, a key limited to 2/min and raised to 100/min by PATCH is served at once, 2 of 100 used', async () => {
  await redis.cli('FLUSHALL')
  const { secret, keyId } = await keyed.userWithKey({ id: 'raised-redis' }, { rpm_limit: 2 })
  const models = () => fetch(`${keyed.url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } })
  const before: number[] = []
  for (let i = 0; i < 3; i++) before.push((await models()).status)
  expect(before).toEqual([200, 200, 429])
  expect((await keyed.admin('PATCH', `/v1/keys/${keyId}`, { rpm_limit: 100 })).status).toBe(200)
  const after = await models()
  expect({ status: after.status, ...rate(after.headers) }).toEqual({ status: 200, limit: '100', remaining: '97' })
})

test('through Redis, a key that used 50 of 100/min, lowered to 10/min, is refused at once', async () => {
  await redis.cli('FLUSHALL')
  const { secret, keyId } = await keyed.userWithKey({ id: 'lowered-redis' }, { rpm_limit: 100 })
  const models = () => fetch(`${keyed.url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } })
  for (let i = 0; i < 50; i++) expect((await models()).status).toBe(200)
  expect((await keyed.admin('PATCH', `/v1/keys/${keyId}`, { rpm_limit: 10 })).status).toBe(200)
  const after = await models()
  expect({ status: after.status, ...rate(after.headers) }).toEqual({ status: 429, limit: '10', remaining: '0' })
})
