/**
 * A settlement whose model's daily rollup row (usage_daily_models: (day, model, 'ok'), updated for every user's
 * settlement of the model that day) another session holds, on a running replica: the replica's sweep, past the hold's
 * TTL, spares its hold, and the settlement lands with its real cost once the row is let go. The sweeper used to spare
 * the holds of requests still running and the settlements kept to land later for a busy user's row, not one waiting in
 * the writer for a rollup row, and charged the whole hold as `expired` (its own usage row's rollup row nobody held);
 * the real settlement then landed as nothing.
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

test("a sweep while a settlement waits for its model's rollup row does not charge its hold in full", async () => {
  const url = await pg.database('ia_rollup_held_sweep')
  const DEADLINE = 1_000
  const a = await PostgresStore.open(url, () => {}, DEADLINE)
  const direct = new SQL(url)
  const session = await direct.reserve()
  try {
    const now = Date.now()
    await a.sql`INSERT INTO users (id, max_budget, period_start, created_at, updated_at) VALUES ('u', 100000000, 0, ${now}, ${now})`
    // Holds that expire in 2 s (so that the test need not wait for the real TTL).
    const ledgerA = new Ledger(a.ledger, 2_000)
    const first = await ledgerA.reserve(asked('r0'))
    ledgerA.settle(first.taken, usageOf(1_000))
    await a.ledger.flush()
    expect(await direct`SELECT 1 FROM usage_daily_models`).toHaveLength(1)

    const hold = await ledgerA.reserve(asked('r1'))
    // The request ends (1.5 s in) as another session (a replica frozen mid-settlement) holds today's (p:m, ok) rollup row.
    await Bun.sleep(1_500)
    await session`BEGIN`
    await session`SELECT 1 FROM usage_daily_models FOR UPDATE`
    ledgerA.settle(hold.taken, usageOf(1_234))
    // The hold's TTL passes while the row is still held (well under a second more); this replica's sweeper runs.
    await Bun.sleep(800)
    await ledgerA.sweep().catch(() => {})
    await session`COMMIT`
    await a.ledger.flush().catch(() => {})
    await Bun.sleep(300)
    await a.ledger.flush().catch(() => {})
    const [user] = await direct`SELECT spend::int AS spend, reserved::int AS reserved FROM users WHERE id = 'u'`
    const usage = await direct`SELECT cost::int AS cost, status FROM usage ORDER BY id`
    // Charged what the request cost, with its usage, not its whole 5 000 µUSD hold as `expired`.
    expect({ spend: user.spend, reserved: user.reserved, usage: [...usage] }).toEqual({
      spend: 1_000 + 1_234, reserved: 0, usage: [{ cost: 1_000, status: 'ok' }, { cost: 1_234, status: 'ok' }],
    })
  } finally {
    await session`ROLLBACK`.catch(() => {})
    session.release()
    await a.close()
    await direct.close()
  }
}, 60_000)
