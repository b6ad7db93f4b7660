/**
 * A settlement whose user's row was held elsewhere is kept by its replica (landLater) and tried again every half
 * second. Its own replica's sweep spared that hold, and a stopped replica's kept settlements (pending_settlements) were
 * spared by every replica's sweep; but a running replica's only by its own. Once the row was let go, another replica's
 * sweeper that reached it before the owner's next try charged the hold in full as `expired`: the request's real usage
 * lost, the user charged the whole worst case. Now a kept settlement is written to pending_settlements at once, and
 * every replica's sweep spares its hold and lands it at its real cost.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { SQL } from 'bun'
import { Ledger } from '../../src/budget/ledger'
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

test("another replica's sweep does not charge in full a hold whose settlement a running replica keeps", async () => {
  const url = await pg.database('sweep_spares_kept')
  const DEADLINE = 1_000
  const a = await PostgresStore.open(url, () => {}, DEADLINE)
  const b = await PostgresStore.open(url, () => {}, DEADLINE)
  const direct = new SQL(url)
  const session = await direct.reserve()
  try {
    const now = Date.now()
    await a.sql`INSERT INTO users (id, max_budget, period_start, created_at, updated_at) VALUES ('u', 100000000, 0, ${now}, ${now})`
    // Holds that expire in 2 s, so that the test need not wait the default TTL.
    const ledgerA = new Ledger(a.ledger, 2_000)
    const hold = await ledgerA.reserve({
      requestId: 'r1', userId: 'u', keyId: null, keyHash: null, amount: 5_000, model: 'p:m', provider: 'p', endpoint: '/v1/chat/completions', priceId: null, stream: false,
    })
    // The user's row is held elsewhere as the request ends: its real cost, 1 234 µUSD, is kept by replica A to land later.
    await session`BEGIN`
    await session`SELECT 1 FROM users WHERE id = 'u' FOR UPDATE`
    ledgerA.settle(hold.taken, { cost: 1_234, promptTokens: 1, completionTokens: 1, cachedTokens: 0, status: 'ok', latencyMs: 1 })
    // Past the hold's TTL, A still trying its settlement every 500 ms.
    await Bun.sleep(2_300)
    // Just after one of A's tries has given up waiting for the row (its next comes ~500 ms later), the row is let go
    // and replica B's sweeper runs.
    const until = Date.now() + 5_000
    while ((await lockWaiters(direct)) === 0 && Date.now() < until) await Bun.sleep(2)
    while ((await lockWaiters(direct)) > 0 && Date.now() < until) await Bun.sleep(2)
    await session`COMMIT`
    await new Ledger(b.ledger, 60_000).sweep()
    // A's next try comes and finds the hold settled or not.
    await Bun.sleep(1_000)
    await a.ledger.flush()
    const [user] = await direct`SELECT spend::int AS spend, reserved::int AS reserved FROM users WHERE id = 'u'`
    const usage = await direct`SELECT cost::int AS cost, status FROM usage`
    // Charged what the request cost, with its usage, not its whole hold as `expired`.
    expect({ spend: user.spend, reserved: user.reserved, usage: [...usage] }).toEqual({ spend: 1_234, reserved: 0, usage: [{ cost: 1_234, status: 'ok' }] })
  } finally {
    await session`ROLLBACK`.catch(() => {})
    session.release()
    await a.close()
    await b.close()
    await direct.close()
  }
}, 60_000)
