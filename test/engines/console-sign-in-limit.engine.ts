/**
 * The console's sign-in limit (TOLLGATE_CONSOLE_SIGN_INS_PER_MIN, attempts a minute per client address) is
 * shared by every replica once TOLLGATE_REDIS_URL is set, like the other rate limits: N replicas behind one
 * load balancer give one address the limit, not N times it. While Redis is unreachable,
 * TOLLGATE_REDIS_FAILURE decides as for the others: `open` counts in each process, `closed` refuses with 503.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from '../support/gateway'
import { startRedis, type TestRedis } from '../support/redis-server'
import { untilRedisUp } from '../support/wait-for'

let redis: TestRedis
let one: TestGateway
let two: TestGateway
beforeAll(async () => {
  redis = await startRedis()
  one = await startTestGateway({ config: { console_sign_ins_per_min: 2, redis_url: redis.url } })
  two = await startTestGateway({ config: { console_sign_ins_per_min: 2, redis_url: redis.url } })
  // Until its link is up a replica counts alone (CI run 2 of round eighteen: both tests failed so).
  await Promise.all([untilRedisUp(one.url), untilRedisUp(two.url)])
})
afterAll(async () => {
  await one?.stop()
  await two?.stop()
  await redis?.stop()
})

const guess = (gw: TestGateway) =>
  fetch(`${gw.url}/v1/session`, {
    method: 'POST',
    headers: { origin: gw.url, 'content-type': 'application/json' },
    body: JSON.stringify({ key: 'a-wrong-guess-of-the-master-key-000000' }),
  })

test('with Redis, one address gets console_sign_ins_per_min (2) sign-in attempts a minute across replicas, not 2 per replica', async () => {
  await redis.cli('FLUSHALL')
  const seen = [await guess(one), await guess(two), await guess(one), await guess(two)].map((r) => r.status)
  expect(seen).toEqual([401, 401, 429, 429])
})

test('Redis unreachable: `open` (the default) limits sign-ins in each process, `closed` refuses them with 503', async () => {
  const closed = await startTestGateway({ config: { console_sign_ins_per_min: 2, redis_url: redis.url, redis_failure: 'closed' } })
  await untilRedisUp(closed.url)
  await redis.stop()
  try {
    const seen = [await guess(one), await guess(one), await guess(one)].map((r) => r.status)
    expect(seen).toEqual([401, 401, 429])
    const refused = await guess(closed)
    expect(refused.status).toBe(503)
    expect(((await refused.json()) as any).error.code).toBe('rate_limiter_unavailable')
  } finally {
    await redis.start()
    await closed.stop()
  }
})
