/**
 * A Postgres store's close takes no hold from its start (503 gateway_stopping), including one a reservation batch
 * already under way commits: the close waits for the batch in flight whatever it carries, and a batch that commits
 * after the close began releases its holds itself, into a settlement writer still open, and refuses its callers
 * 503. Before, the close waited only for a batch carrying settlements or request-log rows: one carrying nothing,
 * still waiting on its user's row lock, committed after the settlement writer was closed and handed its caller a
 * hold; the calls being cut, the caller released it, and the release was dropped ("settlement queued after the
 * store was closed"): 1 reservation and `reserved` 5000 left for the next start's sweeper to charge in full, for
 * a request the provider never received.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { SQL } from 'bun'
import { Hold } from '../../src/budget/hold'
import { Ledger } from '../../src/budget/ledger'
import { GatewayError } from '../../src/http/errors'
import { PostgresStore } from '../../src/store/postgres/store'
import { holdFor } from '../support/ledger-contract'
import { startPostgres, type TestPostgres } from './support/postgres'

let pg: TestPostgres
beforeAll(async () => {
  pg = await startPostgres()
})
afterAll(async () => {
  await pg?.destroy()
})

test('a reservation batch still waiting on a row lock when the store closes leaves no hold for the sweeper, and its caller is refused 503', async () => {
  const url = await pg.database('close_batch_in_flight')
  const errors: string[] = []
  const store = await PostgresStore.open(url, (e) => errors.push(String(e)))
  const ledger = new Ledger(store.ledger, 60_000)
  const now = Date.now()
  await store.sql`INSERT INTO users (id, max_budget, period_start, created_at, updated_at) VALUES ('u', NULL, 0, ${now}, ${now})`
  const direct = new SQL(url)
  const locker = await direct.reserve()
  try {
    // Another transaction holds the user's row (an admin change, another replica's batch), and the request log
    // (as a VACUUM FULL or an index build does), so the stop's store close is still writing when the locks go.
    await locker`BEGIN`
    await locker`SELECT 1 FROM users WHERE id = 'u' FOR UPDATE`
    await locker`LOCK TABLE api_request_log IN ACCESS EXCLUSIVE MODE`
    const asked = ledger.reserve(holdFor('u', 5_000)).then(
      (hold) => hold,
      (error: unknown) => error,
    )
    await Bun.sleep(100) // the batch (carrying nothing) waits on the user's row
    store.appendRequestLog({ createdAt: Date.now(), requestId: 'r1', method: 'POST', route: '/v1/chat/completions', status: 200, latencyMs: 1, clientIp: null, keyId: null, userId: 'u' })
    ledger.cutCalls() // the stop's grace is over
    const closed = store.close() // the stop closes the store
    await Bun.sleep(300) // the close has begun; the batch still waits on the user's row, the request-log row on its table
    await locker`COMMIT`
    const got = await asked
    // What callUpstream does with a hold once the calls are cut: nothing is sent, the hold is released.
    if (got instanceof Hold) got.release(1)
    await closed
    const [{ n }] = await direct`SELECT count(*)::int AS n FROM reservations`
    const [{ reserved }] = await direct`SELECT reserved::int AS reserved FROM users WHERE id = 'u'`
    expect({ n, reserved }).toEqual({ n: 0, reserved: 0 })
    expect(errors.filter((e) => e.includes('after the store was closed'))).toEqual([])
    // From the close on no hold is handed out: the batch released it itself and refused its caller.
    expect(got).toBeInstanceOf(GatewayError)
    expect({ status: (got as GatewayError).status, code: (got as GatewayError).code }).toEqual({ status: 503, code: 'gateway_stopping' })
  } finally {
    await locker`ROLLBACK`.catch(() => {})
    locker.release()
    await direct.close()
  }
}, 60_000)
