/**
 * The `holds_expired` alert (README, Budget alerts: "the sweeper charging expired holds") is raised from what
 * the sweeper reports. A sweep goes in batches of SWEEP_BATCH holds, each committed on its own: when a later
 * batch fails (database busy, a Postgres deadline), what the earlier ones charged at the full amount is
 * charged all the same, so it is reported (logged and alerted) all the same; the next sweep counts only
 * what it charges itself.
 */
import { expect, test } from 'bun:test'
import { SWEEP_BATCH, type Ledger } from '../src/budget/ledger'
import { startSweeper } from '../src/budget/sweeper'

test('holds a sweep charged before a later batch failed are still reported (and so alerted)', async () => {
  let calls = 0
  const ledger = {
    sweepStep: SWEEP_BATCH,
    async sweepBatch() {
      calls++
      if (calls === 1) return SWEEP_BATCH // a full batch: charged and committed
      throw new Error('database_busy') // the next batch fails
    },
  } as unknown as Ledger
  const reported: number[] = []
  const errors = console.error
  console.error = () => {}
  try {
    const sweeper = startSweeper(ledger, 60_000, (n) => reported.push(n))
    for (let i = 0; i < 50 && calls < 2; i++) await Bun.sleep(10)
    await Bun.sleep(20)
    sweeper.stop()
  } finally {
    console.error = errors
  }
  expect(calls).toBe(2)
  // server.ts raises services.alerts.holdsExpired(n) from this callback.
  expect(reported).toEqual([SWEEP_BATCH])
})
