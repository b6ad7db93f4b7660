/**
 * A wall clock that steps back (an NTP correction, a VM resumed from a snapshot, a Redis failover to a host whose
 * clock is behind) must not lock a client out for the size of the step (SPEC §7: 429 only over the limit). A limit
 * of N a minute never owes a client more than a minute's wait: X-RateLimit-Reset and Retry-After stay within the
 * window of "now", whatever was stored before. Nor does a step back forget what was counted: a state stored
 * further ahead than its allowance is taken as the whole allowance used. The Redis path: test/engines/redis-rate-limit-clock-step-back.engine.ts.
 */
import { expect, test } from 'bun:test'
import { GcraLimiter, gcraStep } from '../src/http/gcra'

const HOUR = 3_600_000

test('in memory: 1 request of 10/min, then the clock steps back an hour: the next request is not told to wait an hour', () => {
  const limiter = new GcraLimiter()
  try {
    const t = Date.now()
    expect(limiter.hit('client', 10, t).allowed).toBe(true)
    const after = limiter.hit('client', 10, t - HOUR)
    // Either allowed, or refused for at most the window (60 s): never the hour the clock moved.
    expect(after.allowed ? 0 : after.retryAfter).toBeLessThanOrEqual(60)
    expect(after.reset - Math.ceil((t - HOUR) / 1000)).toBeLessThanOrEqual(60)
  } finally {
    limiter.stop()
  }
})

test('the step the Redis script shares: a stored arrival time an hour ahead of "now" (same limit) costs at most the window', () => {
  const now = Date.now()
  const stored = { tat: (now + HOUR) * 1000, limit: 10 }
  const { decision } = gcraStep(stored, now, 10, 60_000)
  expect(decision.allowed ? 0 : decision.retryAfter).toBeLessThanOrEqual(60)
})

test('in memory: 10 of 10/min used, then the clock steps back an hour: refused for one interval at most, not the hour', () => {
  const limiter = new GcraLimiter()
  try {
    const t = Date.now()
    for (let i = 0; i < 10; i++) limiter.hit('client', 10, t)
    const stepped = t - HOUR
    const refused = limiter.hit('client', 10, stepped)
    // Its whole allowance stays used (not a fresh one: test/rate-limit-clock-step-keeps-count.test.ts), for one interval.
    expect({ allowed: refused.allowed, retryAfter: refused.retryAfter }).toEqual({ allowed: false, retryAfter: 6 })
    expect(limiter.hit('client', 10, stepped + refused.retryAfter * 1000).allowed).toBe(true)
  } finally {
    limiter.stop()
  }
})

test('in memory: the idle sweep forgets a client whose state was stored before the clock stepped back an hour within a window, not the hour', () => {
  const limiter = new GcraLimiter()
  try {
    const t = Date.now()
    limiter.hit('client', 10, t)
    limiter.sweep(t - HOUR)
    limiter.sweep(t - HOUR + 60_001)
    expect(limiter.size).toBe(0)
  } finally {
    limiter.stop()
  }
})

test('a client that used its whole allowance a moment ago, its limit then lowered, is still refused (not taken for a clock step)', () => {
  // 700/min allows 700 in a burst; the stored arrival time lies a whole 700-allowance (just over 60 s) ahead.
  const limiter = new GcraLimiter()
  try {
    const t = Date.now()
    for (let i = 0; i < 700; i++) expect(limiter.hit('client', 700, t).allowed).toBe(true)
    expect(limiter.hit('client', 10, t).allowed).toBe(false)
  } finally {
    limiter.stop()
  }
})
