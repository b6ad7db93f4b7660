/**
 * A replica frozen at 00:00 UTC in the middle of a settlement batch of many models holds their new rollup rows of the
 * day. Another replica's settlements of those models are kept to land later (heldNew → landLater) and written to
 * pending_settlements at once, within the database deadline: telling which groups are held takes one short wait, the
 * groups tried a few at a time. Tried one after the other, 100 ms each, they outlasted the deadline; the settlements
 * were given up on and sent again, never kept, and past the holds' lifetime another replica's sweep charged every
 * one of them in full as `expired`.
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

const HELD_MODELS = 16
const DEADLINE = 1_000

test("settlements of many models whose new rollup rows a frozen transaction holds are kept, not charged in full by another replica's sweep", async () => {
  const url = await pg.database('new_rollup_rows_held_kept_within_deadline')
  const a = await PostgresStore.open(url, () => {}, DEADLINE)
  const b = await PostgresStore.open(url, () => {}, DEADLINE)
  const direct = new SQL(url)
  const session = await direct.reserve()
  try {
    const now = Date.now()
    await a.sql`INSERT INTO users (id, max_budget, period_start, created_at, updated_at) VALUES ('u1', 100000000000, 0, ${now}, ${now})`
    // Holds that expire in 2 s, so that the test need not wait the default TTL.
    const ledgerA = new Ledger(a.ledger, 2_000)
    const models = Array.from({ length: HELD_MODELS }, (_, i) => `p:m${i}`)
    const holds = await Promise.all(models.map((model, i) => ledgerA.reserve({
      requestId: `r${i}`, userId: 'u1', keyId: null, keyHash: null, amount: 5_000, model, provider: 'p', endpoint: '/v1/chat/completions', priceId: null, stream: false,
    })))
    // Another replica, frozen at the start of the day in the middle of a settlement batch of these models.
    const day = Math.floor(Date.now() / 86_400_000)
    await session`BEGIN`
    for (const m of models)
      await session`INSERT INTO usage_daily_models (day, model, status, requests, prompt_tokens, completion_tokens, cached_tokens, cost) VALUES (${day}, ${m}, 'ok', 1, 1, 1, 0, 1)`
    // The requests end: each cost 1 000 µUSD of its 5 000 hold.
    for (const h of holds) ledgerA.settle(h.taken, { cost: 1_000, promptTokens: 1, completionTokens: 1, cachedTokens: 0, status: 'ok', latencyMs: 1 })
    // Past the holds' TTL, the frozen transaction still open, replica B's sweeper runs.
    await Bun.sleep(2_500)
    const kept = Number((await direct`SELECT count(*)::int AS n FROM pending_settlements`)[0].n)
    const swept = await new Ledger(b.ledger, 60_000).sweep()
    // The frozen replica is let go; A's settlements land.
    await session`ROLLBACK`
    await Bun.sleep(1_500)
    await a.ledger.flush().catch(() => {})
    const [u1] = await direct`SELECT spend::int AS spend, reserved::int AS reserved FROM users WHERE id = 'u1'`
    const expired = Number((await direct`SELECT count(*)::int AS n FROM usage WHERE status = 'expired'`)[0].n)
    // Kept to land later, spared by every sweep, charged what the requests cost.
    expect({ kept, swept, expired, u1 }).toEqual({ kept: HELD_MODELS, swept: 0, expired: 0, u1: { spend: HELD_MODELS * 1_000, reserved: 0 } })
  } finally {
    await session`ROLLBACK`.catch(() => {})
    session.release()
    await a.close()
    await b.close()
    await direct.close()
  }
}, 90_000)
