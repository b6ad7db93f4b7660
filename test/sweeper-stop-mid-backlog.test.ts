/**
 * Mutation guard. A graceful stop stops the sweeper first (src/server.ts), then closes the store:
 * a backlog sweep under way must end at its current batch (startSweeper checks `stopped` between batches), or
 * it goes on charging holds into a store being closed (its batches failing against a closed database, or
 * racing the stop's final writes). The suites stop a sweeper only once its backlog is done, so a `stop()` that
 * forgets to mark it stopped (only the interval cleared) passes them.
 */
import { expect, test } from 'bun:test'
import { SWEEP_BATCH, type Ledger } from '../src/budget/ledger'
import { startSweeper } from '../src/budget/sweeper'

test('a sweeper stopped during a backlog runs no batch past the one under way', async () => {
  let batches = 0
  let release!: () => void
  const ledger = {
    sweepStep: SWEEP_BATCH,
    async sweepBatch() {
      batches++
      // Each batch is full: a backlog that would otherwise go on and on.
      if (batches === 1) await new Promise<void>((resolve) => (release = resolve))
      return batches < 50 ? SWEEP_BATCH : 0 // a backlog of 49 full batches
    },
  } as unknown as Ledger
  const reported: number[] = []
  const sweeper = startSweeper(ledger, 60_000, (n) => reported.push(n))
  // The first batch is under way when the stop comes.
  sweeper.stop()
  release()
  await Bun.sleep(100)
  expect({ batches, reported }).toEqual({ batches: 1, reported: [SWEEP_BATCH] })
})

test('a sweeper stopped between two batches of a backlog runs no further batch', async () => {
  let batches = 0
  const ledger = {
    sweepStep: SWEEP_BATCH,
    async sweepBatch() {
      batches++
      return batches < 50 ? SWEEP_BATCH : 0 // a backlog of 49 full batches
    },
  } as unknown as Ledger
  const reported: number[] = []
  const sweeper = startSweeper(ledger, 60_000, (n) => reported.push(n))
  // Control is back here once the first batch has handed the thread back (yieldToRequests).
  sweeper.stop()
  await Bun.sleep(100)
  sweeper.stop()
  expect(batches).toBe(1)
  expect(reported).toEqual([SWEEP_BATCH])
})
