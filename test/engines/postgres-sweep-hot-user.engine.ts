/**
 * A hot user's expired hold (a crashed request's) while other replicas keep serving that user. Nothing is stuck: the
 * user's row is only ever held by ordinary short ledger transactions. But with two or more replicas busy on one user,
 * each replica's next batch is already queued on the row when the previous one commits, so the lock passes from one
 * batch straight to the next and the row is never free at the instant a SKIP LOCKED looks. A sweep that left a busy
 * user to a later sweep found it busy again, for as long as the user was busy: its expired hold stayed reserved and
 * was never charged (SPEC §6: reservations past their TTL are settled by the sweeper). Now the sweep waits a moment for
 * a busy user's row, in a transaction of that user's, as settlement batches do: a busy row is had in milliseconds.
 *
 * Three sessions stand for three replicas' reservation batches on the user (lock the row, write it, commit, again).
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { SQL } from 'bun'
import { Ledger } from '../../src/budget/ledger'
import { PostgresStore } from '../../src/store/postgres/store'
import { holdFor } from '../support/ledger-contract'
import { waitFor } from '../support/wait-for'
import { startPostgres, type TestPostgres } from './support/postgres'

let pg: TestPostgres
beforeAll(async () => {
  pg = await startPostgres()
})
afterAll(async () => {
  await pg?.destroy()
})

test("a busy (not stuck) user's expired hold is swept while other replicas' batches keep its row in turn", async () => {
  const url = await pg.database('sweep_hot_user')
  const store = await PostgresStore.open(url, () => {}, 1_000)
  // Replica g's holds expire at once.
  const g = new Ledger(store.ledger, 1)
  const other = new SQL(url)
  const now = Date.now()
  await other`INSERT INTO users (id, max_budget, period_start, created_at, updated_at) VALUES ('hot', 1000000000, 0, ${now}, ${now})`
  // A hold replica g took and never settled (its request crashed).
  await g.reserve(holdFor('hot', 500))
  // Three replicas' reservation batches for the user, one after another, each about 10 ms (a commit's flush on a real disk).
  let loading = true
  let batches = 0
  const replica = async () => {
    const c = new SQL(url, { max: 1 })
    while (loading) {
      await c.begin(async (tx) => {
        await tx`SELECT 1 FROM users WHERE id = 'hot' FOR NO KEY UPDATE`
        await tx`UPDATE users SET reserved = reserved + 1 WHERE id = 'hot'`
        await tx`UPDATE users SET reserved = reserved - 1 WHERE id = 'hot'`
        await tx`SELECT pg_sleep(0.01)` // the batch's other statements and its commit's flush
      })
      batches++
    }
    await c.close()
  }
  const replicas = [replica(), replica(), replica()]
  const left = async () => Number((await other`SELECT count(*)::int AS n FROM reservations WHERE user_id = 'hot' AND amount = 500`)[0].n)
  let [sweeps, expiredLeft, batchesBefore] = [0, -1, 0]
  try {
    // The row busy in turn (connections opened, a few batches committed) before the sweeps begin.
    await waitFor(10_000, () => batches > 5)
    batchesBefore = batches
    // Ten sweeps (ten minutes of a real sweeper), while the user is served.
    for (; sweeps < 10; sweeps++) {
      await g.sweep().catch(() => 0)
      expiredLeft = await left()
      if (expiredLeft === 0) break
      await Bun.sleep(100)
    }
  } finally {
    loading = false
    await Promise.all(replicas)
  }
  await other.close()
  await store.close()
  console.log({ sweeps: sweeps + 1, expiredLeft, batchesBefore, batches })
  // The row was busy in turn before the sweeps, and while they ran.
  expect(batchesBefore).toBeGreaterThan(5)
  expect(batches).toBeGreaterThan(batchesBefore)
  expect({ expiredHoldLeftAfterTenSweeps: expiredLeft }).toEqual({ expiredHoldLeftAfterTenSweeps: 0 })
}, 90_000)
