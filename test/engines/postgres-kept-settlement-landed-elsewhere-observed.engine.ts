/**
 * A settlement whose user's row was held elsewhere is kept by its replica (landLater, and pending_settlements), and
 * another replica's sweep may land it at its real cost before the owner's next try. That sweep charged no hold of its
 * own and tells its observer nothing; the owner's next try finds the hold gone, and its own usage row there: it is
 * told of the charge then, once, as its metrics count every charge of its requests (not as a hold a sweep got to first).
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { SQL } from 'bun'
import { Ledger, type PastSweptHold } from '../../src/budget/ledger'
import { PostgresStore } from '../../src/store/postgres/store'
import { startPostgres, type TestPostgres } from './support/postgres'

let pg: TestPostgres
beforeAll(async () => {
  pg = await startPostgres()
})
afterAll(async () => {
  await pg?.destroy()
})

/** Sessions of this database waiting for a lock (the owner's try at its kept settlement, waiting for the user's row). */
const lockWaiters = async (direct: SQL) =>
  Number((await direct`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`)[0].n)

test("a kept settlement another replica's sweep landed is told to its owner's observer once, as a charge", async () => {
  const url = await pg.database('kept_landed_elsewhere_observed')
  const DEADLINE = 1_000
  const a = await PostgresStore.open(url, () => {}, DEADLINE)
  const b = await PostgresStore.open(url, () => {}, DEADLINE)
  const direct = new SQL(url)
  const session = await direct.reserve()
  try {
    const now = Date.now()
    await a.sql`INSERT INTO users (id, max_budget, period_start, created_at, updated_at) VALUES ('u', 100000000, 0, ${now}, ${now})`
    const [charged, pastSwept]: [number[], PastSweptHold[]] = [[], []]
    const ledgerA = new Ledger(a.ledger, 2_000, (_hold, o) => charged.push(o.cost), (_hold, unbilled) => pastSwept.push(unbilled))
    const hold = await ledgerA.reserve({
      requestId: 'r1', userId: 'u', keyId: null, keyHash: null, amount: 5_000, model: 'p:m', provider: 'p', endpoint: '/v1/chat/completions', priceId: null, stream: false,
    })
    // The user's row is held elsewhere as the request ends: its real cost is kept by replica A to land later.
    await session`BEGIN`
    await session`SELECT 1 FROM users WHERE id = 'u' FOR UPDATE`
    ledgerA.settle(hold.taken, { cost: 1_234, promptTokens: 9, completionTokens: 9, cachedTokens: 0, status: 'ok', latencyMs: 1 })
    await Bun.sleep(2_300)
    // Just after one of A's tries has given up waiting for the row, the row is let go and replica B's sweep lands it.
    const until = Date.now() + 5_000
    while ((await lockWaiters(direct)) === 0 && Date.now() < until) await Bun.sleep(2)
    while ((await lockWaiters(direct)) > 0 && Date.now() < until) await Bun.sleep(2)
    await session`COMMIT`
    const bCharged: number[] = []
    await new Ledger(b.ledger, 60_000, (_hold, o) => bCharged.push(o.cost)).sweep()
    const usage = await direct`SELECT cost::int AS cost, status FROM usage`
    expect([...usage]).toEqual([{ cost: 1_234, status: 'ok' }])
    // A's next try finds the hold gone, and its own row.
    await Bun.sleep(1_000)
    await a.ledger.flush()
    expect({ charged, pastSwept, bCharged }).toEqual({ charged: [1_234], pastSwept: [], bCharged: [] })
  } finally {
    await session`ROLLBACK`.catch(() => {})
    session.release()
    await a.close()
    await b.close()
    await direct.close()
  }
}, 60_000)
