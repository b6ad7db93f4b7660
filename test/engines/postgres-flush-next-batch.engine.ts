/**
 * LedgerStore.flush on Postgres writes every settlement queued before it was called ("readers of spend and usage
 * await this first", and the sweep relies on it: "a settlement still queued lands first"), wherever it is when
 * flush looks: riding in the reservation batch in flight, in the settlement writer, or taken from the writer by
 * the next batch, which starts as the one in flight ends (next) or while the writer sends on its own. Before,
 * flush awaited the batch in flight and then the writer's queue, which the next batch had just emptied: it
 * returned with a settlement still in flight, uncommitted (1 usage row of cost 10 where 2 of 30 were owed), and
 * an expired hold whose settlement rode in that batch could be swept at its full amount.
 */
import { afterAll, afterEach, beforeAll, beforeEach, expect, test } from 'bun:test'
import { Ledger } from '../../src/budget/ledger'
import { PostgresStore } from '../../src/store/postgres/store'
import { done, holdFor } from '../support/ledger-contract'
import { startPostgres, type TestPostgres } from './support/postgres'

let pg: TestPostgres
let store: PostgresStore
let ledger: Ledger
let n = 0
beforeAll(async () => {
  pg = await startPostgres()
})
afterAll(async () => {
  await pg?.destroy()
})
beforeEach(async () => {
  store = await PostgresStore.open(await pg.database(`flush_next_batch_${++n}`))
  ledger = new Ledger(store.ledger, 60_000)
  const now = Date.now()
  await store.sql`INSERT INTO users (id, max_budget, period_start, created_at, updated_at) VALUES ('u', 100000, 0, ${now}, ${now}), ('w', 100000, 0, ${now}, ${now})`
})
afterEach(async () => {
  await store.close()
})

test('flush waits for a settlement queued before it was called, even when the next reservation batch has taken it', async () => {
  const h1 = await ledger.reserve(holdFor('u', 100))
  const h2 = await ledger.reserve(holdFor('u', 100))
  h1.settle(done(10)) // S0
  const b1 = ledger.reserve(holdFor('u', 10)) // batch 1, which carries S0
  await new Promise((resolve) => setImmediate(resolve)) // batch 1 is on its way
  // Another connection holds user w's row: the next batch (for w) leaves w to a wait of its own, and commits what it carries.
  const blocker = await store.sql.reserve()
  await blocker`BEGIN`
  await blocker`SELECT 1 FROM users WHERE id = 'w' FOR UPDATE`
  const released = (async () => {
    await Bun.sleep(700)
    await blocker`COMMIT`
    blocker.release()
  })()
  h2.settle(done(20)) // S1: queued before the flush is called
  const b2 = ledger.reserve(holdFor('w', 10)) // asked while batch 1 is in flight: batch 2 takes S1 when it starts
  await ledger.flush()
  // What a reader of usage (or the sweeper) sees once flush has resolved: both settlements.
  const [r] = await store.sql`SELECT count(*)::int AS n, coalesce(sum(cost), 0)::int AS cost FROM usage`
  expect(r).toEqual({ n: 2, cost: 30 })
  await released
  await Promise.all([b1, b2])
})

test('flush waits for a settlement a reservation batch took from the writer while it was sending on its own', async () => {
  const now = Date.now()
  await store.sql`INSERT INTO users (id, max_budget, period_start, created_at, updated_at) VALUES ('v', 100000, 0, ${now}, ${now})`
  const h1 = await ledger.reserve(holdFor('u', 100))
  const h2 = await ledger.reserve(holdFor('v', 100))
  // Another connection holds u's row: the writer's own send (for u) waits on it a moment, then keeps S0 to land later.
  // It lets go once the first flush has been looked at (a flush that waited for S0 would wait 5 s, then find it
  // written), not after a fixed time: a loaded machine took longer than that to flush, and S0 landed on a later try.
  const blocker = await store.sql.reserve()
  await blocker`BEGIN`
  await blocker`SELECT set_config('idle_in_transaction_session_timeout', '0', true)`
  await blocker`SELECT 1 FROM users WHERE id = 'u' FOR UPDATE`
  let letGo = () => {}
  const released = (async () => {
    await Promise.race([Bun.sleep(5_000), new Promise<void>((resolve) => (letGo = resolve))])
    await blocker`COMMIT`
    blocker.release()
  })()
  h1.settle(done(10)) // S0
  await Bun.sleep(50) // no reservation came within its linger: the writer sends S0 on its own
  h2.settle(done(20)) // S1: queued behind the writer's send
  const b = ledger.reserve(holdFor('w', 10)) // its batch starts in the next turn and takes S1 from the writer
  await ledger.flush() // no batch in flight yet
  // S1 rode in the batch, and is written. S0, whose user's row stays held past a moment's wait, lands later (flush).
  const [r] = await store.sql`SELECT count(*)::int AS n, coalesce(sum(cost), 0)::int AS cost FROM usage`
  expect(r).toEqual({ n: 1, cost: 20 })
  letGo()
  await released
  await ledger.flush()
  const [all] = await store.sql`SELECT count(*)::int AS n, coalesce(sum(cost), 0)::int AS cost FROM usage`
  expect(all).toEqual({ n: 2, cost: 30 })
  await b
})
