/**
 * The sweeper takes its locks in the order every Postgres transaction does (src/store/postgres/lock-order.ts):
 * the expired holds' users, their keys, then the holds. It used to lock the holds first, so a transaction that
 * held a hold's user or key and then needed the hold itself waited for a sweeper that waited for it:
 * - a key's new ceiling (updateKey takes the key's holds over): a deadlock, found by Postgres only after
 *   deadlock_timeout (1 s), with the user's row held all along and that user's holds waiting behind it;
 * - the hold's own settlement (SETTLE deletes it): its bounded lock wait (100 ms) gave up first, the settlement
 *   was rolled back, and the sweeper charged the hold in full as expired; the settlement, sent again, found it gone.
 *
 * The sweeper now takes the users' and keys' rows no other session holds (SKIP LOCKED), and waits for a busy user's
 * only a moment, in a transaction of that user's that holds no other row: a sweep that waited for one user's row held
 * the rows of every other user it had locked before it (see postgres-stuck-user-sweep.engine.ts). It leaves the holds
 * whose rows stay held elsewhere to a later sweep.
 *
 * In each test another session holds the key's row (as a reservation batch would) while the other transaction
 * takes the user's row and waits for the key's, and another replica sweeps (a replica flushes its own settlements
 * before it sweeps): the sweep ends within a moment, having swept nothing. Once the key's row is let go, the other
 * transaction is done at once, and the next sweep charges what is still expired.
 */
import { afterAll, afterEach, beforeAll, beforeEach, expect, test } from 'bun:test'
import { Ledger } from '../../src/budget/ledger'
import { PostgresStore } from '../../src/store/postgres/store'
import { done, holdFor } from '../support/ledger-contract'
import { startPostgres, type TestPostgres } from './support/postgres'

const TTL = 60_000
/**
 * Each test's database finds deadlocks after 5 s (deadlock_timeout), not 1 s, well apart from what load adds.
 *
 * A sweep that waits for a busy user's row only a moment (100 ms) ends within this; one that deadlocked takes
 * deadlock_timeout and more, and one that waited for the held row waits until its lock wait ends (the 3 s deadline),
 * the row being let go after it. An engines run with five workers (load 10 on 2 cores) measured 423 ms for a right one.
 * The other transaction, once the key's row is let go, is done within it too (a four-worker run: over 300 ms).
 */
const AT_ONCE_MS = 2_000
/** A sweep at this time finds the holds taken now expired. */
const pastExpiry = () => Date.now() + TTL + 1_000

let pg: TestPostgres
let store: PostgresStore
let ledger: Ledger
/** Another replica, on the same database: the one that sweeps. */
let sweeper: { store: PostgresStore; ledger: Ledger }
let n = 0
beforeAll(async () => {
  pg = await startPostgres()
}, 60_000)
afterAll(async () => {
  await pg?.destroy()
})
beforeEach(async () => {
  const url = await pg.database(`sweep_lock_order_${++n}`, { deadlock_timeout: '5s' })
  store = await PostgresStore.open(url, () => {})
  ledger = new Ledger(store.ledger, TTL)
  const other = await PostgresStore.open(url, () => {})
  sweeper = { store: other, ledger: new Ledger(other.ledger, TTL) }
  const now = Date.now()
  await store.sql`INSERT INTO users (id, max_budget, period_start, created_at, updated_at) VALUES ('u', 1000, 0, ${now}, ${now})`
  await store.sql`INSERT INTO api_keys (id, user_id, key_hash, key_prefix, created_at, updated_at) VALUES ('k', 'u', 'k', 'tg-x', ${now}, ${now})`
})
afterEach(async () => {
  await Promise.all([store.close(), sweeper.store.close()])
})

/** A sweep by the other replica, and how long it took. */
async function timedSweep() {
  const started = Date.now()
  const swept = await sweeper.ledger.sweepBatch(pastExpiry())
  return { swept, tookMs: Date.now() - started }
}

/** Until `n` sessions of this database wait for a lock. */
async function waitersReach(n: number) {
  for (const until = Date.now() + 3_000; Date.now() < until; await Bun.sleep(10)) {
    const [{ waiting }] = await store.sql`
      SELECT count(*)::int AS waiting FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`
    if (waiting >= n) return
  }
  throw new Error(`${n} sessions never waited for a lock`)
}

/** Another session's transaction holding the key's row; `release` commits it and gives the time. */
async function holdingTheKey() {
  const session = await store.sql.reserve()
  await session`BEGIN`
  // A session of the store's pool, whose idle-in-transaction bound is the store's deadline: none for this one.
  await session`SELECT set_config('idle_in_transaction_session_timeout', '0', true)`
  await session`SELECT 1 FROM api_keys WHERE id = 'k' FOR UPDATE`
  return {
    release: async () => {
      await session`COMMIT`
      session.release()
      return Date.now()
    },
  }
}

const figures = async () => {
  await ledger.flush()
  const [user] = await store.sql`SELECT spend::int, reserved::int FROM users WHERE id = 'u'`
  const [key] = await store.sql`SELECT spend::int, reserved::int, max_budget::int FROM api_keys WHERE id = 'k'`
  const usage = await store.sql`SELECT cost::int, status FROM usage ORDER BY id`
  return { user: { ...user }, key: { ...key }, usage: usage.map((u: object) => ({ ...u })) }
}

test("a sweep and a key's new ceiling that takes its holds over: both done at once, no deadlock", async () => {
  await ledger.reserve(holdFor('u', 100, 'k'))
  const key = await holdingTheKey()
  const ceiling = store.updateKey('k', { maxBudget: 500 }, true)
  await waitersReach(1)
  // The user's row is the ceiling's, the key's the other session's: the sweep waits for neither.
  const whileHeld = await timedSweep()
  const released = await key.release()
  const row = await ceiling
  const tookMs = Date.now() - released
  console.log('ceiling done', tookMs, 'ms after the key row was let go; the sweep meanwhile took', whileHeld.tookMs, 'ms')
  // The ceiling took the hold over (the key's reserved), and the next sweep charged it in full to the user and the key.
  const { swept } = await timedSweep()
  expect({ whileHeld: whileHeld.swept, sweptAtOnce: whileHeld.tookMs < AT_ONCE_MS, swept, maxBudget: row?.maxBudget, doneAtOnce: tookMs < AT_ONCE_MS, ...(await figures()) }).toEqual({
    whileHeld: 0,
    sweptAtOnce: true,
    swept: 1,
    maxBudget: 500,
    doneAtOnce: true,
    user: { spend: 100, reserved: 0 },
    key: { spend: 100, reserved: 0, max_budget: 500 },
    usage: [{ cost: 100, status: 'expired' }],
  })
}, 30_000)

test("a sweep and its hold's own settlement, which locked the user first: the settlement's charge kept (not the full hold as expired), both done at once", async () => {
  const hold = await ledger.reserve(holdFor('u', 100, 'k'))
  const key = await holdingTheKey()
  // Settled on its own: its transaction locks the user's row and waits for the key's.
  hold.settle(done(40))
  await waitersReach(1)
  // The key's row is the other session's: the sweep leaves the hold, whatever the settlement holds meanwhile.
  const whileHeld = await timedSweep()
  const released = await key.release()
  const settlement = await ledger.flush().then(
    () => 'written',
    (error) => `failed: ${(error as { errno?: string }).errno ?? error}`,
  )
  const tookMs = Date.now() - released
  console.log('settlement done', tookMs, 'ms after the key row was let go; the sweep meanwhile took', whileHeld.tookMs, 'ms')
  const { swept } = await timedSweep()
  expect({ whileHeld: whileHeld.swept, sweptAtOnce: whileHeld.tookMs < AT_ONCE_MS, swept, settlement, doneAtOnce: tookMs < AT_ONCE_MS, ...(await figures()) }).toEqual({
    whileHeld: 0,
    sweptAtOnce: true,
    swept: 0,
    settlement: 'written',
    doneAtOnce: true,
    user: { spend: 40, reserved: 0 },
    key: { spend: 40, reserved: 0, max_budget: null },
    usage: [{ cost: 40, status: 'ok' }],
  })
}, 30_000)
