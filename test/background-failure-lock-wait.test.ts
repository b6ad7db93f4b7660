/**
 * A background job stopped by a lock held elsewhere past its wait (Postgres's lock_timeout, SQLSTATE 55P03: an index
 * build, another replica's long transaction) meets it again on its next run, as one stopped by the database's deadline
 * does: one warning line. It was logged as an error with its stack, as a defect is, when a sweep's landing of kept
 * settlements waited out a table's lock. Anything else stays an error.
 */
import { afterEach, expect, spyOn, test } from 'bun:test'
import type { Ledger } from '../src/budget/ledger'
import { startSweeper } from '../src/budget/sweeper'

/** What Bun's Postgres client throws when lock_timeout ends a statement's wait. */
const lockWaitEnded = () => Object.assign(new Error('canceling statement due to lock timeout'), { name: 'PostgresError', errno: '55P03', code: 'ERR_POSTGRES_SERVER_ERROR' })

let stop = () => {}
afterEach(() => stop())

async function sweepFailingWith(error: Error) {
  const warnings = spyOn(console, 'warn').mockImplementation(() => {})
  const errors = spyOn(console, 'error').mockImplementation(() => {})
  try {
    const ledger = { sweepStep: 100, sweepBatch: async () => Promise.reject(error) } as unknown as Ledger
    stop = startSweeper(ledger, 60_000).stop
    await Bun.sleep(20)
    return { warnings: warnings.mock.calls.map((c) => c.join(' ')), errors: errors.mock.calls.length }
  } finally {
    warnings.mockRestore()
    errors.mockRestore()
  }
}

test("a sweep stopped by a lock held past its wait is one warning line, with when it runs next", async () => {
  expect(await sweepFailingWith(lockWaitEnded())).toEqual({
    warnings: ['[tollgate] sweeper failed: a lock it needed was held elsewhere past its wait; its next run is in 60 s'],
    errors: 0,
  })
})

test('any other failure is still an error with its stack', async () => {
  const { warnings, errors } = await sweepFailingWith(Object.assign(new Error('relation "holds" does not exist'), { errno: '42P01' }))
  expect(warnings).toEqual([])
  expect(errors).toBe(1)
})
