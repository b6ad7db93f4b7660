/**
 * A settlement whose user's row stays held elsewhere (an operator's open transaction, an older replica's session
 * nothing ends) is kept outside the settlement writer and tried again. At the stop it was dropped (one log line): the
 * request's real usage was gone, and its hold stayed for another replica's sweeper to charge in full as `expired`.
 * Now the close keeps it in pending_settlements, which needs no user's row, before trying it until the stop's
 * deadline, and a sweep lands it at its real cost.
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

test("a settlement kept for a busy user at the stop is not lost: the hold is not charged in full by a later sweep", async () => {
  const url = await pg.database('kept_settlement_dropped_at_stop')
  const DEADLINE = 1_000
  const errors: string[] = []
  const a = await PostgresStore.open(url, (e) => errors.push(String((e as Error)?.message ?? e)), DEADLINE)
  const direct = new SQL(url)
  const session = await direct.reserve()
  let b: PostgresStore | null = null
  try {
    const now = Date.now()
    await a.sql`INSERT INTO users (id, max_budget, period_start, created_at, updated_at) VALUES ('u', 100000000, 0, ${now}, ${now})`
    // Holds that expire in 2 s (so that the test need not wait 15 minutes for the sweeper).
    const ledgerA = new Ledger(a.ledger, 2_000)
    const hold = await ledgerA.reserve({
      requestId: 'r1', userId: 'u', keyId: null, keyHash: null, amount: 5_000, model: 'p:m', provider: 'p', endpoint: '/v1/chat/completions', priceId: null, stream: false,
    })
    // The user's row is held elsewhere as the request ends: its real cost, 1 234 µUSD, is kept to land later.
    await session`BEGIN`
    await session`SELECT 1 FROM users WHERE id = 'u' FOR UPDATE`
    ledgerA.settle(hold.taken, { cost: 1_234, promptTokens: 1, completionTokens: 1, cachedTokens: 0, status: 'ok', latencyMs: 1 })
    await Bun.sleep(400)
    // The replica stops (SIGTERM) while the row is still held.
    await a.close()
    // The row is let go; another replica, past the hold's TTL, runs its sweeper.
    await session`COMMIT`
    await Bun.sleep(2_200)
    b = await PostgresStore.open(url, () => {}, DEADLINE)
    await new Ledger(b.ledger, 60_000).sweep()
    const [user] = await direct`SELECT spend::int AS spend, reserved::int AS reserved FROM users WHERE id = 'u'`
    const usage = await direct`SELECT cost::int AS cost, status FROM usage`
    // Charged what the request cost, with its usage, not its whole hold as `expired`.
    expect({ spend: user.spend, reserved: user.reserved, usage: [...usage] }).toEqual({ spend: 1_234, reserved: 0, usage: [{ cost: 1_234, status: 'ok' }] })
    expect(errors.some((e) => e.includes('kept in pending_settlements'))).toBe(true)
    expect(await direct`SELECT 1 FROM pending_settlements`).toHaveLength(0)
  } finally {
    await session`ROLLBACK`.catch(() => {})
    session.release()
    await b?.close()
    await direct.close()
  }
}, 60_000)

test('a settlement kept at the stop that lands before its deadline is taken out of pending_settlements again', async () => {
  const url = await pg.database('kept_settlement_landed_at_stop')
  const DEADLINE = 2_000
  const errors: string[] = []
  const a = await PostgresStore.open(url, (e) => errors.push(String((e as Error)?.message ?? e)), DEADLINE)
  const direct = new SQL(url)
  const session = await direct.reserve()
  try {
    const now = Date.now()
    await a.sql`INSERT INTO users (id, max_budget, period_start, created_at, updated_at) VALUES ('u', 100000000, 0, ${now}, ${now})`
    const ledgerA = new Ledger(a.ledger, 60_000)
    const hold = await ledgerA.reserve({
      requestId: 'r1', userId: 'u', keyId: null, keyHash: null, amount: 5_000, model: 'p:m', provider: 'p', endpoint: '/v1/chat/completions', priceId: null, stream: false,
    })
    await session`BEGIN`
    await session`SELECT 1 FROM users WHERE id = 'u' FOR UPDATE`
    ledgerA.settle(hold.taken, { cost: 1_234, promptTokens: 1, completionTokens: 1, cachedTokens: 0, status: 'ok', latencyMs: 1 })
    await Bun.sleep(400)
    // The row is let go a moment into the stop, well before its deadline.
    const closed = a.close()
    await Bun.sleep(600)
    await session`COMMIT`
    await closed
    const [user] = await direct`SELECT spend::int AS spend, reserved::int AS reserved FROM users WHERE id = 'u'`
    const [{ n: pending }] = await direct`SELECT count(*)::int AS n FROM pending_settlements`
    expect({ spend: user.spend, reserved: user.reserved, pending }).toEqual({ spend: 1_234, reserved: 0, pending: 0 })
    expect(errors.filter((e) => e.includes('pending_settlements') || e.includes('dropped'))).toEqual([])
  } finally {
    await session`ROLLBACK`.catch(() => {})
    session.release()
    await direct.close()
  }
}, 60_000)
