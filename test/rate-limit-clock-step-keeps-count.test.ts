/**
 * A clock step back must not forget what a client has used (SPEC §7: over the limit → 429). A client that has
 * just used its whole allowance sits exactly at the boundary (its arrival time at now + allowance), so with the
 * rule that dropped a state lying further ahead than its allowance, the smallest step back (1 ms, an ordinary NTP
 * correction) wiped its count and handed it a second burst in the same minute: 20 requests in a minute under a
 * limit of 10. Such a state is taken as the whole allowance used instead (src/http/gcra.ts clampedTat).
 * The Redis path: test/engines/redis-rate-limit-clock-step-back.engine.ts.
 */
import { expect, test } from 'bun:test'
import { GcraLimiter } from '../src/http/gcra'

test('10/min used up, then the clock steps back 1 ms: the client is not given another 10 requests in the same minute', () => {
  const limiter = new GcraLimiter()
  try {
    const t = 1_800_000_000_000
    const first = Array.from({ length: 10 }, () => limiter.hit('client', 10, t).allowed)
    expect(first.every(Boolean)).toBe(true)
    expect(limiter.hit('client', 10, t).allowed).toBe(false)
    // The wall clock is corrected back by one millisecond.
    const afterStep = Array.from({ length: 10 }, () => limiter.hit('client', 10, t - 1).allowed).filter(Boolean).length
    expect(afterStep).toBe(0)
  } finally {
    limiter.stop()
  }
})
