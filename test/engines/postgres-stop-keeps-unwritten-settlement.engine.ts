/**
 * A settlement its writer keeps failing to write at the stop is kept in pending_settlements before the stop gives up
 * on it, and a later sweep lands it with its real cost. It used to be dropped at the stop's deadline ("not written ...
 * dropped"), and once what blocked it was let go another replica's sweeper charged the whole hold as `expired`.
 *
 * Two blocks: another session holds a lock on the usage table that its insert needs (something else than a row held
 * elsewhere; a connection reset each try would do the same); or another session holds its model's daily rollup row
 * (usage_daily_models, updated by the usage trigger for every user's settlement of that model that day) — a replica
 * frozen mid-settlement, until Postgres ends its session — kept as one whose user's row is held elsewhere is
 * (postgres-stop-keeps-held-settlement). That one used to stay in the settlement writer, waiting for the row.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { SQL, type ReservedSQL } from 'bun'
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

/** The replica stops while `block` (run in another session's open transaction) keeps the second settlement from being written; then a sweep. */
async function stopWhileBlocked(database: string, block: (session: ReservedSQL) => Promise<unknown>) {
  const url = await pg.database(database)
  const DEADLINE = 1_000
  const errors: string[] = []
  const a = await PostgresStore.open(url, (e) => errors.push(String((e as Error)?.message ?? e)), DEADLINE)
  const direct = new SQL(url)
  const session = await direct.reserve()
  let b: PostgresStore | null = null
  try {
    const now = Date.now()
    await a.sql`INSERT INTO users (id, max_budget, period_start, created_at, updated_at) VALUES ('u', 100000000, 0, ${now}, ${now})`
    const ledgerA = new Ledger(a.ledger, 2_000)
    // A first request of the model today lands: today's rollup row for (p:m, ok) exists.
    const first = await ledgerA.reserve(asked('r0'))
    ledgerA.settle(first.taken, usageOf(1_000))
    await a.ledger.flush()
    expect(await direct`SELECT 1 FROM usage_daily_models`).toHaveLength(1)

    const hold = await ledgerA.reserve(asked('r1'))
    // Another session blocks the settlement as the request ends.
    await session`BEGIN`
    await block(session)
    ledgerA.settle(hold.taken, usageOf(1_234))
    await Bun.sleep(400)
    // The replica stops (SIGTERM) while the block is still held.
    await a.close()
    // The block is let go; another replica, past the hold's TTL, runs its sweeper.
    await session`COMMIT`
    await Bun.sleep(2_200)
    b = await PostgresStore.open(url, () => {}, DEADLINE)
    await new Ledger(b.ledger, 60_000).sweep()
    const [user] = await direct`SELECT spend::int AS spend, reserved::int AS reserved FROM users WHERE id = 'u'`
    const usage = await direct`SELECT cost::int AS cost, status FROM usage ORDER BY id`
    // Charged what the request cost, with its usage, not its whole 5 000 µUSD hold as `expired`.
    expect({ spend: user.spend, reserved: user.reserved, usage: [...usage], errors }).toEqual({
      spend: 1_000 + 1_234, reserved: 0, usage: [{ cost: 1_000, status: 'ok' }, { cost: 1_234, status: 'ok' }], errors: expect.any(Array),
    })
    expect(errors.filter((e) => e.includes('dropped'))).toEqual([])
  } finally {
    await session`ROLLBACK`.catch(() => {})
    session.release()
    await b?.close()
    await direct.close()
  }
}

test("a settlement its writer cannot write by the stop's deadline is kept, not lost: the hold is not charged in full by a later sweep", async () => {
  // A lock on the usage table that the settlement's insert waits for.
  await stopWhileBlocked('stop_keeps_unwritten_settlement', (session) => session`LOCK TABLE usage IN SHARE MODE`)
}, 60_000)

test("a settlement waiting for its model's rollup row at the stop is not lost: the hold is not charged in full by a later sweep", async () => {
  // Today's rollup row of the model, held as a replica frozen mid-settlement holds it.
  await stopWhileBlocked('ia_rollup_held_at_stop', (session) => session`SELECT 1 FROM usage_daily_models FOR UPDATE`)
}, 60_000)
