/**
 * Mutation guard (Postgres landPending, src/store/postgres/ledger-store.ts): a settlement a stopped replica kept in
 * pending_settlements (its user's row held elsewhere) is landed by a later sweep on any replica. A sweep that runs
 * while the row is *still* held must leave it kept (only the settlements it landed are taken out of
 * pending_settlements): dropped, it is lost, and the next sweep, the row free again, charges the hold in full as
 * `expired` rather than at the request's real cost. The existing engine tests release the row before the first
 * sweep, so a landPending that drops every settlement it read, landed or not, went unnoticed.
 *
 * Kills the mutant:
 *   `const landed = batch.filter((s) => !held.has(s)).map((s) => String(s.id))`  →  `const landed = batch.map((s) => String(s.id))`
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

test('a kept settlement a sweep finds still held stays kept, and a later sweep lands it at its real cost', async () => {
  const url = await pg.database('pending_still_held')
  const DEADLINE = 1_000
  const a = await PostgresStore.open(url, () => {}, DEADLINE)
  const direct = new SQL(url)
  const session = await direct.reserve()
  let b: PostgresStore | null = null
  try {
    const now = Date.now()
    await a.sql`INSERT INTO users (id, max_budget, period_start, created_at, updated_at) VALUES ('u', 100000000, 0, ${now}, ${now})`
    const ledgerA = new Ledger(a.ledger, 2_000)
    const hold = await ledgerA.reserve({
      requestId: 'r1', userId: 'u', keyId: null, keyHash: null, amount: 5_000, model: 'p:m', provider: 'p', endpoint: '/v1/chat/completions', priceId: null, stream: false,
    })
    // The user's row is held elsewhere as the request ends, and the replica stops: the settlement is kept.
    await session`BEGIN`
    await session`SELECT 1 FROM users WHERE id = 'u' FOR UPDATE`
    ledgerA.settle(hold.taken, { cost: 1_234, promptTokens: 1, completionTokens: 1, cachedTokens: 0, status: 'ok', latencyMs: 1 })
    await Bun.sleep(400)
    await a.close()
    expect(await direct`SELECT 1 FROM pending_settlements`).toHaveLength(1)

    // Past the hold's TTL another replica sweeps while the row is still held: nothing lands, the settlement stays kept.
    await Bun.sleep(2_200)
    b = await PostgresStore.open(url, () => {}, DEADLINE)
    const ledgerB = new Ledger(b.ledger, 60_000)
    await ledgerB.sweep().catch(() => 0)
    const keptAfterFirstSweep = (await direct`SELECT 1 FROM pending_settlements`).length

    // The row is let go; the next sweep lands the kept settlement at its real cost.
    await session`COMMIT`
    await ledgerB.sweep()
    const [user] = await direct`SELECT spend::int AS spend, reserved::int AS reserved FROM users WHERE id = 'u'`
    const usage = await direct`SELECT cost::int AS cost, status FROM usage`
    expect({ keptAfterFirstSweep, spend: user.spend, reserved: user.reserved, usage: [...usage] })
      .toEqual({ keptAfterFirstSweep: 1, spend: 1_234, reserved: 0, usage: [{ cost: 1_234, status: 'ok' }] })
  } finally {
    await session`ROLLBACK`.catch(() => {})
    session.release()
    await b?.close()
    await direct.close()
  }
}, 60_000)
