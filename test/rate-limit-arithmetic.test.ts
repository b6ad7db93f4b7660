/**
 * Rate-limit arithmetic (SPEC §7): a limit of N allows N requests at once, whatever N, and the remaining count
 * says so from the first request on; a limit changed (a key's rpm_limit edited) applies at once to the requests
 * already counted (the Redis path: test/engines/redis-rate-limits.engine.ts).
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { GcraLimiter, gcraStep } from '../src/http/gcra'
import { startTestGateway, type TestGateway } from './support/gateway'

const rate = (h: Headers) => ({ limit: h.get('x-ratelimit-limit'), remaining: h.get('x-ratelimit-remaining') })

describe('GCRA rounding: a limit of N allows N, and says so', () => {
  test('a burst of 9 arriving in the same millisecond, limit 9/min: all 9 pass, remaining counts 8..0', () => {
    const limiter = new GcraLimiter()
    try {
      const now = Date.now()
      const seen: Array<number | 'refused'> = []
      for (let i = 0; i < 10; i++) {
        const d = limiter.hit('client', 9, now)
        seen.push(d.allowed ? d.remaining : 'refused')
      }
      expect(seen).toEqual([8, 7, 6, 5, 4, 3, 2, 1, 0, 'refused'])
    } finally {
      limiter.stop()
    }
  })

  test('a burst of 700 at one instant, limit 700/min: 700 pass, the 701st is refused', () => {
    const limiter = new GcraLimiter()
    try {
      const now = Date.now() + 0.5
      const remaining: number[] = []
      for (let i = 0; i < 700; i++) remaining.push(limiter.hit('client', 700, now).remaining)
      expect(remaining).toEqual(Array.from({ length: 700 }, (_, i) => 699 - i))
      expect(limiter.hit('client', 700, now).allowed).toBe(false)
    } finally {
      limiter.stop()
    }
  })

  test('the step the Redis script shares: for limits 9, 17, 700 a fresh client has limit-1 left at any clock reading', () => {
    const wrong: Record<number, number> = {}
    const base = Date.now()
    for (const limit of [9, 17, 700]) {
      wrong[limit] = 0
      for (let k = 0; k < 50; k++) {
        // Redis's clock has microseconds; the in-memory one whole milliseconds.
        const now = base + k * 0.123
        const d = gcraStep(undefined, now, limit, 60_000).decision
        if (d.remaining !== limit - 1) wrong[limit]++
      }
    }
    // Readings (of 50) at which a fresh client was told it had fewer than limit-1 left.
    expect(wrong).toEqual({ 9: 0, 17: 0, 700: 0 })
  })

  let gw: TestGateway
  beforeAll(async () => {
    gw = await startTestGateway({ config: { rate_limit_per_min: 9 } })
  })
  afterAll(async () => {
    await gw?.stop()
  })

  test('over HTTP: the first request of a client under rate_limit_per_min 9 says X-RateLimit-Remaining: 8', async () => {
    const res = await fetch(`${gw.url}/health`)
    expect(res.status).toBe(200)
    expect(rate(res.headers)).toEqual({ limit: '9', remaining: '8' })
  })
})

describe('a limit changed applies at once to what was counted', () => {
  test('2 of 2 used, raised to 100: the next passes with 97 left; 50 of 100 used, lowered to 10: refused', () => {
    const limiter = new GcraLimiter()
    try {
      const now = Date.now()
      expect([1, 2, 3].map(() => limiter.hit('raised', 2, now).allowed)).toEqual([true, true, false])
      expect(limiter.hit('raised', 100, now)).toMatchObject({ allowed: true, limit: 100, remaining: 97 })
      for (let i = 0; i < 50; i++) limiter.hit('lowered', 100, now)
      expect(limiter.hit('lowered', 10, now)).toMatchObject({ allowed: false, limit: 10, remaining: 0 })
    } finally {
      limiter.stop()
    }
  })
})

describe('a key\'s rpm_limit raised by PATCH', () => {
  let gw: TestGateway
  beforeAll(async () => {
    gw = await startTestGateway()
  })
  afterAll(async () => {
    await gw?.stop()
  })

  test('2/min used up, raised to 100/min: the next request passes, with about 97 left (2 of 100 used)', async () => {
    const { secret, keyId } = await gw.userWithKey({ id: 'raised' }, { rpm_limit: 2 })
    const models = () => fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } })
    const before: number[] = []
    for (let i = 0; i < 3; i++) before.push((await models()).status)
    expect(before).toEqual([200, 200, 429])

    const patched = await gw.admin('PATCH', `/v1/keys/${keyId}`, { rpm_limit: 100 })
    expect(patched.status).toBe(200)
    expect(patched.body.rpm_limit).toBe(100)

    const after = await models()
    const headers = rate(after.headers)
    // Two requests were made in the last minute; the limit is now 100 a minute.
    expect({ status: after.status, limit: headers.limit }).toEqual({ status: 200, limit: '100' })
    expect(Number(headers.remaining)).toBeGreaterThanOrEqual(90)
  })
})
