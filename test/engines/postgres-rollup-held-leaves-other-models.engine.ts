/**
 * One model's daily rollup row (usage_daily_models (day, 'p:a', 'ok')) held by another session (a replica frozen
 * mid-settlement, until Postgres ends its session) leaves out only that model's settlements: every other settlement of
 * the replica, of another user and another model, lands at once. It used to keep them all from landing: the
 * settlements left out went on their own, where the whole batch waited for the held row (LOCK_MODEL_ROLLUPS), failed
 * as one and was retried with every settlement queued since joining it, none riding a reservation batch meanwhile; their
 * holds stayed counted as `reserved` (a user near the budget refused 402), and at a stop were dropped and later charged
 * in full by a sweep.
 */
import { expect, test } from 'bun:test'
import { SQL } from 'bun'
import { Ledger } from '../../src/budget/ledger'
import { PostgresStore } from '../../src/store/postgres/store'
import { asked, usageOf } from './support/ledger-requests'
import { postgresForFile } from './support/postgres-for-file'
import { waitFor } from '../support/wait-for'

const pg = postgresForFile()

test("a rollup row of one model held elsewhere leaves other users' settlements of other models to land at once", async () => {
  const url = await pg.database('ia_rollup_held_other_models')
  const a = await PostgresStore.open(url, () => {}, 2_000)
  const direct = new SQL(url)
  const session = await direct.reserve()
  try {
    const now = Date.now()
    await a.sql`INSERT INTO users (id, max_budget, period_start, created_at, updated_at) VALUES ('u1', 100000000, 0, ${now}, ${now}), ('u2', 100000000, 0, ${now}, ${now})`
    const ledger = new Ledger(a.ledger, 60_000)
    // Today's rollup rows of both models exist.
    for (const [id, user, model] of [['r0', 'u1', 'p:a'], ['r1', 'u2', 'p:b']] as const) {
      const h = await ledger.reserve(asked(id, user, model))
      ledger.settle(h.taken, usageOf(100))
    }
    await a.ledger.flush()
    expect(await direct`SELECT 1 FROM usage_daily_models`).toHaveLength(2)

    const [holdA, holdB] = [await ledger.reserve(asked('r2', 'u1', 'p:a')), await ledger.reserve(asked('r3', 'u2', 'p:b'))]
    // Another session holds only p:a's row for today.
    await session`BEGIN`
    await session`SELECT 1 FROM usage_daily_models WHERE model = 'p:a' FOR UPDATE`
    ledger.settle(holdA.taken, usageOf(1_000))
    ledger.settle(holdB.taken, usageOf(2_000))
    // Steady holds of other requests meanwhile (each would carry settlements if the writer handed them over).
    for (let i = 0; i < 10; i++) {
      const h = await ledger.reserve(asked(`x${i}`, 'u2', 'p:b'))
      ledger.settle(h.taken, usageOf(10))
      await Bun.sleep(100)
    }
    // u2's p:b settlements, which need no row anybody holds, land (the last was sent just now: a loaded machine may take
    // a moment), the row still held.
    const openHolds = async () => (await direct`SELECT request_id FROM reservations ORDER BY id`).map((r: { request_id: string }) => r.request_id)
    await waitFor(5_000, async () => (await openHolds()).length === 1)
    const [u2] = await direct`SELECT spend::int AS spend, reserved::int AS reserved FROM users WHERE id = 'u2'`
    const open = await openHolds()
    expect({ u2, open }).toEqual({ u2: { spend: 100 + 2_000 + 10 * 10, reserved: 0 }, open: ['r2'] })
  } finally {
    await session`ROLLBACK`.catch(() => {})
    session.release()
    await a.close()
    await direct.close()
  }
}, 60_000)
