/**
 * Slow writes (prunes, an alert check's alerts) wait for room before each batch after the first while a hold-back check says so,
 * the SQLite WAL past its limit in the gateway (src/db/checkpointer.ts): an alert check's writes outran the
 * checkpointer and grew the WAL to 1.5 GB, cut later in one commit on the request thread. They wait a bounded time
 * (a check that never clears slows them, never stops them), and nothing else waits with them: a request's answer
 * sent in slices and reads yield through yieldToRequests, which a hold-back check does not hold.
 */
import { expect, test } from 'bun:test'
import { deleteInBatches, fixedSteps, holdSlowWritesWhile, roomToWrite, yieldToRequests } from '../src/db/maintenance'

/** Past a slice, so that the next yield really waits for its turn. */
const busy = (ms: number) => {
  const until = performance.now() + ms
  while (performance.now() < until);
}

test('a slow write waits for room while a hold-back check says so, and goes on once it clears', async () => {
  let hold = true
  const stopHolding = holdSlowWritesWhile(() => hold)
  try {
    let batches = 0
    const deleting = deleteInBatches(() => (++batches < 3 ? 10 : 0), () => false, fixedSteps(10))
    await Bun.sleep(150)
    // The first batch at once (one batch grows the WAL by one batch); the next waits for room.
    expect(batches).toBe(1)
    hold = false
    expect(await deleting).toBe(20)
    expect(batches).toBe(3)
  } finally {
    stopHolding()
  }
})

test('a check that never clears holds a write back at most two seconds at a time', async () => {
  const stopHolding = holdSlowWritesWhile(() => true)
  try {
    const t = performance.now()
    await roomToWrite()
    const waited = performance.now() - t
    expect(waited).toBeGreaterThan(1_900)
    expect(waited).toBeLessThan(4_000)
  } finally {
    stopHolding()
  }
})

test('yielding to requests is not held back while slow writes are', async () => {
  const stopHolding = holdSlowWritesWhile(() => true)
  try {
    busy(6)
    const t = performance.now()
    await yieldToRequests()
    expect(performance.now() - t).toBeLessThan(500)
  } finally {
    stopHolding()
  }
})

test('once undone, a check holds nothing back', async () => {
  holdSlowWritesWhile(() => true)()
  const t = performance.now()
  await roomToWrite()
  expect(performance.now() - t).toBeLessThan(100)
})
