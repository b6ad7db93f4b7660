/**
 * At a stop, a settlement whose first try fails (here a lock on `usage`) is kept in pending_settlements
 * (BatchWriter.close's keepAside). If its next try finds its user's row held elsewhere (a replica frozen
 * mid-transaction), the writer hands it to landLater and reports it written: it has not landed, so it stays kept. It
 * used to be taken out of pending_settlements with those that had landed, and, its user's row still held at the
 * stop's deadline, dropped; a later sweep on any replica then charged its whole hold as `expired` (README: settlements
 * still held at the stop's deadline "are landed at their real cost by the next sweep on any replica").
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

const usageOf = (cost: number) => ({ cost, promptTokens: 1, completionTokens: 1, cachedTokens: 0, status: 'ok' as const, latencyMs: 1 })
const asked = (requestId: string) => ({
  requestId, userId: 'u', keyId: null, keyHash: null, amount: 5_000, model: 'p:m', provider: 'p', endpoint: '/v1/chat/completions', priceId: null, stream: false,
})

test("a settlement kept at the stop, then left out for its user's row, stays kept past the deadline and lands at its real cost", async () => {
  const url = await pg.database('stop_keeps_settlement_left_for_user_row')
  const DEADLINE = 3_000
  const a = await PostgresStore.open(url, () => {}, DEADLINE)
  const direct = new SQL(url)
  const tableLock = await direct.reserve()
  const userLock = await direct.reserve()
  let b: PostgresStore | null = null
  try {
    const now = Date.now()
    await a.sql`INSERT INTO users (id, max_budget, period_start, created_at, updated_at) VALUES ('u', 100000000, 0, ${now}, ${now})`
    const ledgerA = new Ledger(a.ledger, 2_000)
    const first = await ledgerA.reserve(asked('r0'))
    ledgerA.settle(first.taken, usageOf(1_000))
    await a.ledger.flush()

    const hold = await ledgerA.reserve(asked('r1'))
    // The settlement's insert waits for a lock on usage: its tries fail (55P03).
    await tableLock`BEGIN`
    await tableLock`LOCK TABLE usage IN SHARE MODE`
    ledgerA.settle(hold.taken, usageOf(1_234))
    // The replica stops: the stop keeps the failing settlement in pending_settlements.
    const closed = a.close()
    for (let i = 0; i < 200 && (await direct`SELECT 1 FROM pending_settlements`).length === 0; i++) await Bun.sleep(5)
    expect(await direct`SELECT hold_id::text AS id FROM pending_settlements`).toEqual([{ id: String(hold.taken.id) }])
    // Now a frozen replica holds the user's row, and the usage lock goes: the next try leaves the settlement out for
    // the user's row (landLater), and the row stays held past the stop's deadline.
    await userLock`BEGIN`
    await userLock`SELECT 1 FROM users WHERE id = 'u' FOR NO KEY UPDATE`
    await tableLock`COMMIT`
    await closed
    const keptAfterStop = (await direct`SELECT hold_id::text AS id FROM pending_settlements`).map((r: { id: string }) => r.id)
    await userLock`COMMIT`

    // Another replica, past the hold's TTL, runs its sweeper.
    b = await PostgresStore.open(url, () => {}, DEADLINE)
    await new Ledger(b.ledger, 60_000).sweep(Date.now() + 120_000)
    const [user] = await direct`SELECT spend::int AS spend, reserved::int AS reserved FROM users WHERE id = 'u'`
    const usage = await direct`SELECT cost::int AS cost, status FROM usage ORDER BY id`
    expect({ keptAfterStop, spend: user.spend, reserved: user.reserved, usage: [...usage] }).toEqual({
      keptAfterStop: [String(hold.taken.id)], spend: 1_000 + 1_234, reserved: 0, usage: [{ cost: 1_000, status: 'ok' }, { cost: 1_234, status: 'ok' }],
    })
  } finally {
    await tableLock`ROLLBACK`.catch(() => {})
    await userLock`ROLLBACK`.catch(() => {})
    tableLock.release()
    userLock.release()
    await b?.close()
    await direct.close()
  }
}, 60_000)
