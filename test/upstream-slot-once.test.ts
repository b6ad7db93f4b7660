import { expect, test } from 'bun:test'
import { UpstreamSlots } from '../src/providers/upstream-slots'

/**
 * Mutation guard: an upstream slot goes back once, however many of a call's ends give it back (its hold's
 * settlement, a relay's end, a cancel). Given back twice, the count would fall below the calls in flight and the
 * limit (max_upstream_concurrency, kept under Bun's fetch cap) would admit one call more than it allows each time:
 * a paid call, its hold taken, then waiting unseen in Bun's fetch queue.
 */
test('a slot given back twice is given back once: the limit still refuses the call past it', () => {
  const slots = new UpstreamSlots(1)
  const first = slots.take()
  first()
  first()
  expect(slots.inFlight).toBe(0)
  const second = slots.take()
  expect(slots.inFlight).toBe(1)
  expect(() => slots.take()).toThrow()
  second()
  expect(slots.free).toBe(1)
})
