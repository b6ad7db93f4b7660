/**
 * A process that found Redis stalled probes it again every 250 ms (RedisLink.worthTrying), and once
 * Redis answers the limits are shared again. SPEC §11 / README: Redis down → rate limits fail open, or closed when
 * configured (503 `rate_limiter_unavailable`), visibly — while it is down, not after. The probe is spaced by
 * `Date.now() - lastProbe < 250`: a clock stepped back (NTP correction, VM resumed) after a probe makes that
 * negative for the length of the step, so no command is tried for an hour after a one-hour step, and with
 * TOLLGATE_REDIS_FAILURE=closed every request is refused 503 all that time although Redis answers again.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from '../support/gateway'
import { startRedis, type TestRedis } from '../support/redis-server'
import { within } from '../support/wait-for'

let redis: TestRedis
let gw: TestGateway
beforeAll(async () => {
  redis = await startRedis()
  gw = await startTestGateway({ config: { log_level: 'silent', rate_limit_per_min: 1000, redis_url: redis.url, redis_failure: 'closed' } })
})
afterAll(async () => {
  await gw?.stop()
  await redis?.stop()
})

test('after a Redis stall and a clock step back, limits are shared again as soon as Redis answers', async () => {
  const realNow = Date.now
  try {
    // Connected: requests are limited through Redis.
    let ok = false
    for (let i = 0; i < 50 && !ok; i++) ok = (await fetch(`${gw.url}/health`)).status === 200 || (await Bun.sleep(100), false)
    expect(ok).toBe(true)
    // Redis stalls for 3 s (its clients' commands are held, their connections stay open).
    expect(await redis.cli('CLIENT', 'PAUSE', '3000', 'ALL')).toBe('OK')
    // Fail closed while it stalls: the command times out (500 ms), then a probe times out too.
    expect((await fetch(`${gw.url}/health`)).status).toBe(503)
    await Bun.sleep(300)
    expect((await fetch(`${gw.url}/health`)).status).toBe(503)
    // NTP steps the clock back an hour during the stall.
    Date.now = () => realNow() - 3_600_000
    // Redis answers again: the probes (each a second or less apart on the monotonic clock, not an hour) find it.
    expect(await redis.cli('PING')).toBe('PONG')
    expect(await within(10_000, async () => (await fetch(`${gw.url}/health`)).status === 200)).toBeLessThan(10_000)
  } finally {
    Date.now = realNow
  }
}, 30_000)
