/**
 * The Redis path of test/rate-limit-clock-step-back.test.ts. Every replica counts on Redis's clock; when that clock
 * steps back (an NTP correction on the Redis host, or a failover to a replica whose clock is behind the old
 * primary's, the keys replicated with the old primary's times), a client's stored arrival time lies far ahead of
 * "now". A limit of N a minute must never make a client wait longer than the minute, nor forget what it counted:
 * such a state is taken as the whole allowance used.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from '../support/gateway'
import { startRedis, type TestRedis } from '../support/redis-server'
import { untilRedisUp } from '../support/wait-for'

let redis: TestRedis
let gw: TestGateway
beforeAll(async () => {
  redis = await startRedis()
  gw = await startTestGateway({ config: { rate_limit_per_min: 10, redis_url: redis.url } })
  await untilRedisUp(gw.url)
})
afterAll(async () => {
  await gw?.stop()
  await redis?.stop()
})

test('through Redis, a client that used 1 of 10/min before the clock stepped back an hour is not made to wait an hour', async () => {
  await redis.cli('FLUSHALL')
  // The loopback client's bucket as the old clock left it: one request counted, one 6 s interval, an hour ahead of now.
  const [sec, usec] = (await redis.cli('TIME')).split('\n').map(Number)
  const nowUs = sec! * 1e6 + usec!
  const tat = nowUs + 3_600_000_000 + 6_000_000
  expect(await redis.cli('SET', 'tollgate:rate:3:ip:127.0.0.1', `${tat}:10`, 'PX', '3700000')).toBe('OK')

  const res = await fetch(`${gw.url}/health`)
  const [secAfter] = (await redis.cli('TIME')).split('\n').map(Number)
  const wait = res.status === 429 ? Number(res.headers.get('retry-after')) : 0
  expect(wait).toBeLessThanOrEqual(60)
  // Within the window of the request's "now": Redis's second read just after it, rounded up (read before, CI saw 62
  // when a second passed between the two).
  expect(Number(res.headers.get('x-ratelimit-reset')) - secAfter!).toBeLessThanOrEqual(61)
})

test('through Redis, 10 of 10/min used just before the clock stepped back a second: the client is refused, not given a fresh allowance', async () => {
  await redis.cli('FLUSHALL')
  // The bucket a client that has just used its whole allowance leaves: its arrival time the whole allowance
  // (10 intervals of 6 s) ahead, here a second further, as the clock read before it stepped back (a second rather
  // than a millisecond: the time the request takes to reach Redis would hide a smaller step).
  const [sec, usec] = (await redis.cli('TIME')).split('\n').map(Number)
  const tat = sec! * 1e6 + usec! + 60_000_000 + 1_000_000
  expect(await redis.cli('SET', 'tollgate:rate:3:ip:127.0.0.1', `${tat}:10`, 'PX', '62000')).toBe('OK')
  const res = await fetch(`${gw.url}/health`)
  expect({ status: res.status, remaining: res.headers.get('x-ratelimit-remaining') }).toEqual({ status: 429, remaining: '0' })
})

test('through Redis, 10 of 10/min used before the clock stepped back an hour: refused for one interval, then served again', async () => {
  await redis.cli('FLUSHALL')
  const [sec, usec] = (await redis.cli('TIME')).split('\n').map(Number)
  const tat = sec! * 1e6 + usec! + 3_600_000_000 + 60_000_000
  expect(await redis.cli('SET', 'tollgate:rate:3:ip:127.0.0.1', `${tat}:10`, 'PX', '3700000')).toBe('OK')
  const refused = await fetch(`${gw.url}/health`)
  const wait = Number(refused.headers.get('retry-after'))
  expect({ status: refused.status, wait }).toEqual({ status: 429, wait: 6 })
  // The state was kept clamped though the request was refused: taken afresh from the hour-ahead one at every
  // later "now", it would be refused for the whole hour.
  await Bun.sleep(wait * 1000 + 100)
  expect((await fetch(`${gw.url}/health`)).status).toBe(200)
}, 20_000)

test('through Redis, a client far into the allowance of a higher limit, now 10/min, is refused (not taken for a clock step)', async () => {
  await redis.cli('FLUSHALL')
  // Under 40,000,000/min (a 2 µs interval) the allowance is 80 s: an arrival time 79 s ahead was stored at this
  // very clock, though it lies past the 60 s allowance of 10/min. Only the limit changed; the requests stay counted.
  const [sec, usec] = (await redis.cli('TIME')).split('\n').map(Number)
  const tat = sec! * 1e6 + usec! + 79_000_000
  expect(await redis.cli('SET', 'tollgate:rate:3:ip:127.0.0.1', `${tat}:40000000`, 'PX', '80000')).toBe('OK')
  expect((await fetch(`${gw.url}/health`)).status).toBe(429)
})
