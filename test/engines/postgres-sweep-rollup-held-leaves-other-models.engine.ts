/**
 * A sweep's first transaction locks the free users' rows of up to 100 expired holds and settles them. One model's
 * (day, model, 'expired') rollup row held elsewhere (a replica frozen mid-sweep, until Postgres ends its session) leaves
 * out that model's expired holds only, for a later sweep. The sweep used to wait for the row (LOCK_MODEL_ROLLUPS) while
 * it held every swept user's row, and then fail whole: every other user's expired hold, of every other model, stayed
 * unswept and counted as `reserved`.
 */
import { expect, test } from 'bun:test'
import { SQL } from 'bun'
import { Ledger } from '../../src/budget/ledger'
import { PostgresStore } from '../../src/store/postgres/store'
import { asked } from './support/ledger-requests'
import { postgresForFile } from './support/postgres-for-file'

const pg = postgresForFile()

test("one model's expired-rollup row held elsewhere leaves the other models' expired holds to be swept", async () => {
  const url = await pg.database('sweep_rollup_held_leaves_other_models')
  const a = await PostgresStore.open(url, () => {}, 2_000)
  const direct = new SQL(url)
  const session = await direct.reserve()
  try {
    const now = Date.now()
    await a.sql`INSERT INTO users (id, max_budget, period_start, created_at, updated_at) VALUES ('u1', 100000000, 0, ${now}, ${now}), ('u2', 100000000, 0, ${now}, ${now})`
    // A dead replica's holds (not this one's running holds): reserved through a ledger whose holds are forgotten.
    const dead = new Ledger(a.ledger, 1_000)
    await dead.reserve(asked('r0', 'u1', 'p:a'))
    const later = Date.now() + 3_600_000
    // Today's (p:a, expired) rollup row exists.
    const sweeper = new Ledger(a.ledger, 1_000)
    expect(await sweeper.sweep(later)).toBe(1)
    expect(await direct`SELECT model, status FROM usage_daily_models`).toEqual([{ model: 'p:a', status: 'expired' }])

    await dead.reserve(asked('r1', 'u1', 'p:a'))
    await dead.reserve(asked('r2', 'u2', 'p:b'))
    // A frozen replica holds p:a's expired rollup row for today.
    await session`BEGIN`
    await session`SELECT 1 FROM usage_daily_models WHERE model = 'p:a' FOR UPDATE`
    const swept = await sweeper.sweep(later).catch((e) => String(e))
    const open = (await direct`SELECT request_id FROM reservations ORDER BY request_id`).map((r: { request_id: string }) => r.request_id)
    const [u2] = await direct`SELECT spend::int AS spend, reserved::int AS reserved FROM users WHERE id = 'u2'`
    // u2's p:b hold needs no row anybody holds: swept; only u1's p:a hold is left for a later sweep.
    expect({ swept, open, u2 }).toEqual({ swept: 1, open: ['r1'], u2: { spend: 5_000, reserved: 0 } })
  } finally {
    await session`ROLLBACK`.catch(() => {})
    session.release()
    await a.close()
    await direct.close()
  }
}, 60_000)
