/**
 * A hung Redis (CLIENT PAUSE, a long DEBUG SLEEP or script, a host that stopped answering) costs one request its
 * 500 ms deadline, no more: once Redis counts as down, requests apply the failure mode at once, and the link
 * asks Redis in the background whether it is back. A request never waits on that probe, nor on one limiter after
 * another (per IP, then per key), however slowly its client sends.
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
  gw = await spawnGateway({ mock, env: { TOLLGATE_REDIS_URL: redis.url, TOLLGATE_RATE_LIMIT_PER_MIN: '100000' } })
}, 60_000)
afterAll(async () => {
  await gw?.stop()
  await redis?.stop()
  await mock?.stop()
})

test('while Redis hangs for 4 s, no request waits past the 500 ms deadline, and once it counts as down requests stop waiting on it', async () => {
  const { secret } = await gw.userWithKey({ id: 'hung-redis' }, { rpm_limit: 100_000 })
  const call = async () => {
    const t = performance.now()
    const res = await fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } })
    return { status: res.status, ms: Math.round(performance.now() - t) }
  }
  expect((await call()).status).toBe(200)
  // In effect once redis-cli has its answer (a loaded machine may take longer than a fixed pause to start it).
  expect(await redis.cli('CLIENT', 'PAUSE', '4000', 'ALL')).toBe('OK')
  // One client, one request at a time, 300 ms apart (a coding agent's pace), for 3.5 s of the pause.
  const seen: Array<{ status: number; ms: number }> = []
  const start = performance.now()
  while (performance.now() - start < 3_500) {
    seen.push(await call())
    await Bun.sleep(300)
  }
  const slowest = Math.max(...seen.map((s) => s.ms))
  // A request that waits on Redis takes its deadline (500 ms); one at load ~10 took 201 ms without.
  const waitedAfterDown = seen.slice(1).filter((s) => s.ms > 450).length
  console.log({ ms: seen.map((s) => s.ms) })
  // The deadline and a loaded machine's lateness: one limiter's wait after another's (1 s) or the pause (4 s) are past it.
  expect({ allServed: seen.every((s) => s.status === 200), slowestUnder900ms: slowest < 900, waitedAfterDown }).toEqual({
    allServed: true,
    slowestUnder900ms: true,
    // Redis counts as down after the first request's timeout: later requests apply the failure mode at once.
    waitedAfterDown: 0,
  })
}, 60_000)
