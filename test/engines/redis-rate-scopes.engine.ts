/**
 * With Redis, each limit counts on keys of its own (src/redis/rate-limiter.ts: `tollgate:rate:3:<scope>:<client>`):
 * the per-IP limit and the console's sign-in limit both count per client address, so without the scope they would
 * share one count, and ordinary API traffic from an address (a team's NAT, an operator's own scripts) would use up
 * its console sign-in attempts, and sign-in attempts its API allowance. README: the sign-in limit is attempts a
 * minute per client address, apart from TOLLGATE_RATE_LIMIT_PER_MIN.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { MASTER_KEY, startTestGateway, type TestGateway } from '../support/gateway'
import { startRedis, type TestRedis } from '../support/redis-server'
import { untilRedisUp } from '../support/wait-for'

let redis: TestRedis
let gw: TestGateway
beforeAll(async () => {
  redis = await startRedis()
  gw = await startTestGateway({ config: { rate_limit_per_min: 100, console_sign_ins_per_min: 5, redis_url: redis.url } })
  await untilRedisUp(gw.url)
})
afterAll(async () => {
  await gw?.stop()
  await redis?.stop()
})

const signIn = (key: string) =>
  fetch(`${gw.url}/v1/session`, {
    method: 'POST',
    headers: { origin: gw.url, 'content-type': 'application/json' },
    body: JSON.stringify({ key }),
  })

test('through Redis, API requests from an address do not use up its console sign-in attempts', async () => {
  await redis.cli('FLUSHALL')
  // Ten ordinary requests, well inside the per-IP limit of 100/min.
  for (let i = 0; i < 10; i++) expect((await fetch(`${gw.url}/health`)).status).toBe(200)
  const res = await signIn(MASTER_KEY)
  await res.arrayBuffer()
  expect(res.status).not.toBe(429)
  expect(res.status).toBeLessThan(300)
})

test('through Redis, sign-in attempts from an address do not use up its API allowance', async () => {
  await redis.cli('FLUSHALL')
  for (let i = 0; i < 5; i++) await (await signIn('a-wrong-guess-of-the-master-key-000000')).arrayBuffer()
  const res = await fetch(`${gw.url}/health`)
  expect({ status: res.status, limit: res.headers.get('x-ratelimit-limit'), remaining: res.headers.get('x-ratelimit-remaining') }).toEqual({
    status: 200,
    limit: '100',
    remaining: '94',
  })
})
