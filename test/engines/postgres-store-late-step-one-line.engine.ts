/**
 * The Postgres store's background steps report through its `onError`, which the gateway leaves at the store's
 * default. That default was console.error: a step past its deadline under load (a sweep's landing of kept
 * settlements at a start, the database busy migrating its neighbours' databases) printed the 503 meant for a client,
 * whole, as an error: "error: The database cannot be reached; nothing was charged and the provider was not called",
 * with its fields and a stack naming only the deadline's timer. A suite run on Postgres under load failed on that line
 * alone. Now such a step is one warning line, as a sweep or prune that did not get its answer in time is
 * (src/log/background-failure.ts); anything else is still an error with its stack.
 */
import { afterAll, beforeAll, expect, spyOn, test } from 'bun:test'
import { PostgresStore } from '../../src/store/postgres/store'
import { startPostgres, type TestPostgres } from './support/postgres'
import { startTcpRelay } from './support/tcp-relay'

let pg: TestPostgres
beforeAll(async () => {
  pg = await startPostgres()
})
afterAll(async () => {
  await pg?.destroy()
})

test("a sweep's landing step the database does not answer in time is one warning line from the store's default, not a client's 503 dumped as an error", async () => {
  const url = await pg.database('store_late_step')
  // Through a relay that can stop forwarding (connections open, nothing answered): the deadline, not a lock timeout
  // Postgres might answer first, ends the step.
  const relay = startTcpRelay(pg.port)
  const warnings = spyOn(console, 'warn').mockImplementation(() => {})
  const errors = spyOn(console, 'error').mockImplementation(() => {})
  const store = await PostgresStore.open(url.replace(`:${pg.port}/`, `:${relay.port}/`), undefined, 300)
  try {
    relay.freeze()
    // Its first step, landing kept settlements, is given up at the deadline; the sweep goes on, and fails the same way.
    const swept = await store.ledger.sweepBatch(Date.now(), () => ({ cost: 0, charged: false }) as never, 100, []).then(
      () => 'swept',
      () => 'refused',
    )
    expect(swept).toBe('refused')
    expect(warnings.mock.calls).toEqual([['[tollgate] a background database step failed: the database did not answer in time']])
    expect(errors.mock.calls).toEqual([])
  } finally {
    warnings.mockRestore()
    errors.mockRestore()
    relay.thaw()
    await store.close()
    relay.stop()
  }
}, 60_000)
