/**
 * A sweep's first expired hold of a model on a day inserts the model's (day, model, 'expired') rollup row (the usage
 * trigger's INSERT .. ON CONFLICT). A replica frozen in the middle of it holds an UNCOMMITTED row, which SKIP LOCKED
 * does not see: the sweep's trigger insert would wait for it and fail the whole sweep, every other model's expired holds
 * with it. Only that model's expired holds are left for a later sweep.
 */
import { expect, test } from 'bun:test'
import { SQL } from 'bun'
import { Ledger } from '../../src/budget/ledger'
import { PostgresStore } from '../../src/store/postgres/store'
import { asked } from './support/ledger-requests'
import { postgresForFile } from './support/postgres-for-file'

const pg = postgresForFile()

test("one model's first expired-rollup row of the day, inserted by a transaction still open, leaves the other models' expired holds to be swept", async () => {
  const url = await pg.database('sweep_new_rollup_row_held')
  const a = await PostgresStore.open(url, () => {}, 2_000)
  const direct = new SQL(url)
  const session = await direct.reserve()
  try {
    const now = Date.now()
    await a.sql`INSERT INTO users (id, max_budget, period_start, created_at, updated_at) VALUES ('u1', 100000000, 0, ${now}, ${now}), ('u2', 100000000, 0, ${now}, ${now})`
    // A dead replica's holds (not this one's running holds): reserved through a ledger whose holds are forgotten.
    const dead = new Ledger(a.ledger, 1_000)
    const later = Date.now() + 3_600_000
    const sweeper = new Ledger(a.ledger, 1_000)
    // Today's (p:b, expired) rollup row exists; (p:a, expired) has none yet.
    await dead.reserve(asked('r0', 'u2', 'p:b'))
    expect(await sweeper.sweep(later)).toBe(1)
    await dead.reserve(asked('r1', 'u1', 'p:a'))
    await dead.reserve(asked('r2', 'u2', 'p:b'))
    // Another replica, frozen in the middle of today's first p:a sweep: its trigger's row is inserted, uncommitted.
    // The day the sweep's rows fall on: its clock's (`later`, an hour on: tomorrow's from 23:00 UTC), not the test's.
    const day = Math.floor(later / 86_400_000)
    await session`BEGIN`
    await session`INSERT INTO usage_daily_models (day, model, status, requests, prompt_tokens, completion_tokens, cached_tokens, cost) VALUES (${day}, 'p:a', 'expired', 1, 1, 1, 0, 1)`
    const swept = await sweeper.sweep(later).catch((e) => String(e))
    const open = (await direct`SELECT request_id FROM reservations ORDER BY request_id`).map((r: { request_id: string }) => r.request_id)
    const [u2] = await direct`SELECT spend::int AS spend, reserved::int AS reserved FROM users WHERE id = 'u2'`
    // u2's p:b hold needs no row anybody holds: swept; only u1's p:a hold is left for a later sweep.
    expect({ swept, open, u2 }).toEqual({ swept: 1, open: ['r1'], u2: { spend: 10_000, reserved: 0 } })
  } finally {
    await session`ROLLBACK`.catch(() => {})
    session.release()
    await a.close()
    await direct.close()
  }
}, 60_000)
