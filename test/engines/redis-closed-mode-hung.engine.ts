/**
 * Mutation guard. TOLLGATE_REDIS_FAILURE=closed: when limits cannot be shared the gateway
 * refuses with a 503 naming the limiter (README/SPEC: "closed: a 503 naming the limiter, never a 429"). That holds
 * for the request whose own command finds Redis gone (a hung Redis: its 500 ms deadline), not only for those after
 * the link has noted the outage. The existing hung-Redis test runs in open mode, where counting that request
 * alone is also what open does, so a limiter that counted it locally in closed mode too (treating an outage as an
 * answer from Redis) passed it.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { spawnGateway, type SpawnedGateway } from '../support/gateway'
import { startMockProvider, type MockProvider } from '../support/mock-provider'
import { startRedis, type TestRedis } from '../support/redis-server'

let redis: TestRedis
let gw: SpawnedGateway
let mock: MockProvider
beforeAll(async () => {
  redis = await startRedis()
  mock = startMockProvider()
  gw = await spawnGateway({ mock, env: { TOLLGATE_REDIS_URL: redis.url, TOLLGATE_REDIS_FAILURE: 'closed', TOLLGATE_RATE_LIMIT_PER_MIN: '100000' } })
}, 60_000)
afterAll(async () => {
  await gw?.stop()
  await redis?.stop()
  await mock?.stop()
})

test('closed mode, Redis hung: the first request (whose own command times out; no key, so only the per-IP limit) is refused 503 rate_limiter_unavailable, as are the next', async () => {
  const { secret } = await gw.userWithKey({ id: 'closed-hung' }, { rpm_limit: 100_000 })
  // Without a key as well: then the per-IP limit is the only one the request meets (no per-key limit after it).
  const call = async (key: string | null = secret) => {
    const res = await fetch(`${gw.url}/v1/models`, key === null ? {} : { headers: { authorization: `Bearer ${key}` } })
    return { status: res.status, error: res.status === 200 ? null : (((await res.json()) as any).error?.code ?? null) }
  }
  expect((await call()).status).toBe(200)
  // In effect once redis-cli has its answer (a loaded machine may take longer than a fixed pause to start it).
  expect(await redis.cli('CLIENT', 'PAUSE', '3000', 'ALL')).toBe('OK')
  const first = await call(null)
  const second = await call()
  expect({ first, second }).toEqual({
    first: { status: 503, error: 'rate_limiter_unavailable' },
    second: { status: 503, error: 'rate_limiter_unavailable' },
  })
}, 60_000)
