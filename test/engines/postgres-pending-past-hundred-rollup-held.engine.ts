/**
 * A sweep first lands the settlements replicas kept (landPending), 100 at a time by hold id. When the first 100 are all
 * of a model whose new rollup row of the day a frozen transaction is inserting (so they stay kept), it reads again in
 * their place: a kept settlement of another model past them used to be never tried, sweep after sweep, its hold open
 * and its user's budget reserved though nothing it needs is held.
 */
import { expect, test } from 'bun:test'
import { SQL } from 'bun'
import { Ledger } from '../../src/budget/ledger'
import { periodStarts } from '../../src/budget/period'
import { PostgresStore } from '../../src/store/postgres/store'
import { asked } from './support/ledger-requests'
import { postgresForFile } from './support/postgres-for-file'

const pg = postgresForFile()

test("100 kept settlements of a model whose new rollup row is held do not keep another model's kept settlement from landing", async () => {
  const url = await pg.database('pending_past_hundred_rollup_held')
  const a = await PostgresStore.open(url, () => {}, 2_000)
  const direct = new SQL(url)
  const session = await direct.reserve()
  try {
    const now = Date.now()
    await a.sql`INSERT INTO users (id, max_budget, period_start, created_at, updated_at) VALUES ('u1', 100000000000, 0, ${now}, ${now}), ('u2', 100000000, 0, ${now}, ${now})`
    // A stopped replica's holds, whose settlements it kept in pending_settlements at its stop.
    const dead = new Ledger(a.ledger, 60_000)
    const holds = await Promise.all(Array.from({ length: 100 }, (_, i) => dead.reserve(asked(`ra${i}`, 'u1', 'p:a'))))
    const holdB = await dead.reserve(asked('rb', 'u2', 'p:b'))
    const bId = 9007199254740000
    await direct`UPDATE reservations SET id = ${bId} WHERE request_id = 'rb'`
    const settledAt = Date.now()
    const kept = [...holds.map((h) => ({ id: h.taken.id, r: h.taken.request })), { id: bId, r: holdB.taken.request }].map(({ id, r }) => ({
      id, request_id: r.requestId, user_id: r.userId, key_id: null, model: r.model, provider: r.provider, endpoint: r.endpoint, amount: r.amount,
      cost: 1_000, prompt_tokens: 1, completion_tokens: 1, cached_tokens: 0, price_id: null, status: 'ok', latency_ms: 1, stream: false,
      created_at: settledAt, cache_write_tokens: 0, server_tool_uses: null, ...periodStarts(settledAt),
    }))
    for (const s of kept) await direct`INSERT INTO pending_settlements (hold_id, settlement, created_at) VALUES (${s.id}, ${JSON.stringify(s)}, ${settledAt})`
    // Another replica, frozen in the middle of today's first p:a settlement.
    const day = Math.floor(settledAt / 86_400_000)
    await session`BEGIN`
    await session`INSERT INTO usage_daily_models (day, model, status, requests, prompt_tokens, completion_tokens, cached_tokens, cost) VALUES (${day}, 'p:a', 'ok', 1, 1, 1, 0, 1)`
    // A live replica's sweeper, twice.
    const sweeper = new Ledger(a.ledger, 60_000)
    await sweeper.sweep().catch(() => {})
    await sweeper.sweep().catch(() => {})
    const [u2] = await direct`SELECT spend::int AS spend, reserved::int AS reserved FROM users WHERE id = 'u2'`
    const bKept = (await direct`SELECT 1 FROM pending_settlements WHERE hold_id = ${bId}`).length === 1
    // u2's kept p:b settlement needs no row anybody holds: landed at its real cost, u2's budget no longer reserved.
    expect({ bKept, u2 }).toEqual({ bKept: false, u2: { spend: 1_000, reserved: 0 } })
  } finally {
    await session`ROLLBACK`.catch(() => {})
    session.release()
    await a.close()
    await direct.close()
  }
}, 90_000)
