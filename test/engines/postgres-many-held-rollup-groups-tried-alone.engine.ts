/**
 * A sweep that finds many models' new rollup rows held (a replica frozen at 00:00 UTC mid-sweep) tries each group
 * alone within one short wait, to tell the held ones from the free. Each try was a transaction of its own, four
 * round trips, on a connection of its own: under load one cost 20-50 ms against its 5 ms lock wait, so the wait ended
 * with most groups untried, free ones among them, and their holds were left for the next sweep (a minute on), where
 * the same happened again.
 */
import { expect, test } from 'bun:test'
import { SQL } from 'bun'
import { Ledger } from '../../src/budget/ledger'
import { PostgresStore } from '../../src/store/postgres/store'
import { asked } from './support/ledger-requests'
import { postgresForFile } from './support/postgres-for-file'

const pg = postgresForFile()

const HELD_MODELS = 64
const FREE_MODELS = 8

test('a sweep past many held new rollup rows still sweeps every expired hold whose row nobody holds', async () => {
  const url = await pg.database('many_held_rollup_groups')
  const a = await PostgresStore.open(url, () => {}, 2_000)
  const direct = new SQL(url)
  const session = await direct.reserve()
  try {
    const now = Date.now()
    await a.sql`INSERT INTO users (id, max_budget, period_start, created_at, updated_at) VALUES ('u1', 100000000000, 0, ${now}, ${now}), ('u2', 100000000, 0, ${now}, ${now})`
    const dead = new Ledger(a.ledger, 1_000)
    const sweeper = new Ledger(a.ledger, 1_000)
    const held = Array.from({ length: HELD_MODELS }, (_, i) => `p:m${i}`)
    const free = Array.from({ length: FREE_MODELS }, (_, i) => `p:free${i}`)
    await Promise.all(held.map((m, i) => dead.reserve(asked(`r${i}`, 'u1', m))))
    await Promise.all(free.map((m, i) => dead.reserve(asked(`f${i}`, 'u2', m))))
    const later = Date.now() + 60_000
    const day = Math.floor(later / 86_400_000)
    await session`BEGIN`
    for (const m of held)
      await session`INSERT INTO usage_daily_models (day, model, status, requests, prompt_tokens, completion_tokens, cached_tokens, cost) VALUES (${day}, ${m}, 'expired', 1, 1, 1, 0, 1)`
    const swept = await sweeper.sweepBatch(later).catch((e) => String(e))
    const [u2] = await direct`SELECT spend::int AS spend, reserved::int AS reserved FROM users WHERE id = 'u2'`
    expect({ swept, u2 }).toEqual({ swept: FREE_MODELS, u2: { spend: FREE_MODELS * 5_000, reserved: 0 } })
  } finally {
    await session`ROLLBACK`.catch(() => {})
    session.release()
    await a.close()
    await direct.close()
  }
}, 90_000)
