/**
 * Slow work (whatever yields through yieldToRequests: prunes, sweeps, alert checks) waits while a hold-back check
 * says so, the SQLite WAL past its limit in the gateway (src/db/checkpointer.ts): an alert check's writes outran
 * the checkpointer and grew the WAL to 1.5 GB, cut later in one commit on the request thread. It waits a bounded
 * time: a check that never clears slows the work, never stops it.
 */
import { expect, test } from 'bun:test'
import { holdSlowWorkWhile, yieldToRequests } from '../src/db/maintenance'

/** Past a slice, so that the next yield really waits for its turn. */
const busy = (ms: number) => {
  const until = performance.now() + ms
  while (performance.now() < until);
}

test('a step waits while a hold-back check says so, and goes on once it clears', async () => {
  let hold = true
  const stopHolding = holdSlowWorkWhile(() => hold)
  try {
    busy(6)
    let resumed = false
    const step = yieldToRequests().then(() => (resumed = true))
    await Bun.sleep(150)
    expect(resumed).toBe(false)
    hold = false
    await step
    expect(resumed).toBe(true)
  } finally {
    stopHolding()
  }
})

test('a check that never clears holds a step back at most two seconds at a time', async () => {
  const stopHolding = holdSlowWorkWhile(() => true)
  try {
    busy(6)
    const t = performance.now()
    await yieldToRequests()
    const waited = performance.now() - t
    expect(waited).toBeGreaterThan(1_900)
    expect(waited).toBeLessThan(4_000)
  } finally {
    stopHolding()
  }
})

test('once undone, a check holds nothing back', async () => {
  holdSlowWorkWhile(() => true)()
  busy(6)
  const t = performance.now()
  await yieldToRequests()
  expect(performance.now() - t).toBeLessThan(500)
})
