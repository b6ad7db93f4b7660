/**
 * The in-memory limiter forgets idle clients once a window (src/http/gcra.ts GcraLimiter.sweep): "an entry whose
 * arrival time has passed holds no information". One whose arrival time is still ahead holds the count of a client
 * that used its allowance: forgetting it at the sweep would hand that client a second burst in the same minute
 * (SPEC §7: over the limit → 429), once a window, for every client at once.
 */
import { expect, test } from 'bun:test'
import { GcraLimiter } from '../src/http/gcra'

test('10/min used up: the sweep a second later keeps the count, and the client stays refused', () => {
  const limiter = new GcraLimiter()
  try {
    const t = 1_800_000_000_000
    expect(Array.from({ length: 10 }, () => limiter.hit('client', 10, t).allowed).every(Boolean)).toBe(true)
    limiter.sweep(t + 1_000)
    expect(limiter.size).toBe(1)
    const after = Array.from({ length: 10 }, () => limiter.hit('client', 10, t + 1_000).allowed).filter(Boolean).length
    expect(after).toBe(0)
  } finally {
    limiter.stop()
  }
})

test('a client whose allowance is whole again is forgotten by the sweep', () => {
  const limiter = new GcraLimiter()
  try {
    const t = 1_800_000_000_000
    limiter.hit('client', 10, t)
    limiter.sweep(t + 60_000)
    expect(limiter.size).toBe(0)
  } finally {
    limiter.stop()
  }
})
