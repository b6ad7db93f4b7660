/**
 * A sweep reads the first 100 expired holds by id and leaves out those whose model's `expired` rollup row is held
 * elsewhere (a replica frozen mid-sweep: a new row not committed, or an existing row locked). When all 100 are of that
 * model, it reads again in their place, that model's left out: a batch of none would end the sweep (Ledger.sweep), and
 * every other model's expired hold past the first 100 stayed open, its user's budget reserved, sweep after sweep.
 */
import { expect, test } from 'bun:test'
import { SQL } from 'bun'
import { Ledger } from '../../src/budget/ledger'
import { PostgresStore } from '../../src/store/postgres/store'
import { asked } from './support/ledger-requests'
import { postgresForFile } from './support/postgres-for-file'

const pg = postgresForFile()

for (const how of ['new row inserted, uncommitted', 'existing row locked'] as const) {
  test(`100 expired holds of a model whose expired rollup row is held elsewhere (${how}) do not keep another model's expired hold from being swept`, async () => {
    const url = await pg.database(`sweep_past_hundred_rollup_held_${how === 'existing row locked' ? 'locked' : 'new'}`)
    const a = await PostgresStore.open(url, () => {}, 2_000)
    const direct = new SQL(url)
    const session = await direct.reserve()
    try {
      const now = Date.now()
      await a.sql`INSERT INTO users (id, max_budget, period_start, created_at, updated_at) VALUES ('u1', 100000000000, 0, ${now}, ${now}), ('u2', 100000000, 0, ${now}, ${now})`
      const dead = new Ledger(a.ledger, 1_000)
      const sweeper = new Ledger(a.ledger, 1_000)
      const later = Date.now() + 60_000
      const day = Math.floor(later / 86_400_000)
      if (how === 'existing row locked') {
        await dead.reserve(asked('r-first', 'u1', 'p:a'))
        expect(await sweeper.sweep(later)).toBe(1)
      }
      // A dead replica's 100 holds of p:a (a hot model), and u2's one hold of p:b, whose id comes after them.
      await Promise.all(Array.from({ length: 100 }, (_, i) => dead.reserve(asked(`ra${i}`, 'u1', 'p:a'))))
      await dead.reserve(asked('rb', 'u2', 'p:b'))
      await direct`UPDATE reservations SET id = 9007199254740000 WHERE request_id = 'rb'`
      // Another replica, frozen in the middle of a sweep of p:a: today's (p:a, expired) row held.
      await session`BEGIN`
      if (how === 'existing row locked') await session`SELECT 1 FROM usage_daily_models WHERE day = ${day} AND model = 'p:a' AND status = 'expired' FOR UPDATE`
      else
        await session`INSERT INTO usage_daily_models (day, model, status, requests, prompt_tokens, completion_tokens, cached_tokens, cost) VALUES (${day}, 'p:a', 'expired', 1, 1, 1, 0, 1)`
      // Two sweeps, as the sweeper's timer would run them.
      const sweeps = [await sweeper.sweep(later).catch((e) => String(e)), await sweeper.sweep(later).catch((e) => String(e))]
      const [u2] = await direct`SELECT spend::int AS spend, reserved::int AS reserved FROM users WHERE id = 'u2'`
      const rbOpen = (await direct`SELECT 1 FROM reservations WHERE request_id = 'rb'`).length === 1
      // u2's p:b hold needs no row anybody holds: swept, charged in full, u2's budget no longer reserved.
      expect({ sweeps, rbOpen, u2 }).toEqual({ sweeps: [1, 0], rbOpen: false, u2: { spend: 5_000, reserved: 0 } })
    } finally {
      await session`ROLLBACK`.catch(() => {})
      session.release()
      await a.close()
      await direct.close()
    }
  }, 90_000)
}
