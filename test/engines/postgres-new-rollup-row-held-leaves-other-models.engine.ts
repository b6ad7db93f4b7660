/**
 * A model's first settlement of the day inserts its daily rollup row (the usage trigger's INSERT .. ON CONFLICT): every
 * model's row is new at 00:00 UTC, and a new model's. A replica frozen in the middle of it holds an UNCOMMITTED row,
 * which neither SKIP LOCKED (SETTLE's busy_rollups) nor LOCK_MODEL_ROLLUPS sees. Its settlements are kept to land
 * later, and every other model's land at once. The trigger's insert used to wait for the frozen transaction, failing the
 * whole transaction (55P03) with every other user's settlement of every other model in it: none landed, batch after
 * batch, while it lasted (as postgres-rollup-held-leaves-other-models.engine.ts, with the row not there yet).
 */
import { expect, test } from 'bun:test'
import { SQL } from 'bun'
import { Ledger } from '../../src/budget/ledger'
import { PostgresStore } from '../../src/store/postgres/store'
import { asked, usageOf } from './support/ledger-requests'
import { postgresForFile } from './support/postgres-for-file'
import { waitFor } from '../support/wait-for'

const pg = postgresForFile()

test("a model's first rollup row of the day, inserted by a transaction still open, leaves other models' settlements to land at once", async () => {
  const url = await pg.database('new_rollup_row_held_other_models')
  const a = await PostgresStore.open(url, () => {}, 2_000)
  const direct = new SQL(url)
  const session = await direct.reserve()
  try {
    const now = Date.now()
    await a.sql`INSERT INTO users (id, max_budget, period_start, created_at, updated_at) VALUES ('u1', 100000000, 0, ${now}, ${now}), ('u2', 100000000, 0, ${now}, ${now})`
    const ledger = new Ledger(a.ledger, 60_000)
    // p:b's row for today exists; p:a has none yet today.
    const h0 = await ledger.reserve(asked('r0', 'u2', 'p:b'))
    ledger.settle(h0.taken, usageOf(100))
    await a.ledger.flush()
    expect(await direct`SELECT model FROM usage_daily_models`).toEqual([{ model: 'p:b' }])

    const [holdA, holdB] = [await ledger.reserve(asked('r1', 'u1', 'p:a')), await ledger.reserve(asked('r2', 'u2', 'p:b'))]
    // Another replica, frozen in the middle of today's first p:a settlement: its trigger's row is inserted, uncommitted.
    const day = Math.floor(Date.now() / 86_400_000)
    await session`BEGIN`
    await session`INSERT INTO usage_daily_models (day, model, status, requests, prompt_tokens, completion_tokens, cached_tokens, cost) VALUES (${day}, 'p:a', 'ok', 1, 1, 1, 0, 1)`
    ledger.settle(holdA.taken, usageOf(1_000))
    ledger.settle(holdB.taken, usageOf(2_000))
    // Steady holds of u2, p:b, meanwhile.
    for (let i = 0; i < 10; i++) {
      const h = await ledger.reserve(asked(`x${i}`, 'u2', 'p:b'))
      ledger.settle(h.taken, usageOf(10))
      await Bun.sleep(100)
    }
    // u2's p:b settlements, which need no row anybody holds, land (the last was sent just now: a loaded machine may take
    // a moment), the frozen transaction still open; only u1's p:a one waits.
    const openHolds = async () => (await direct`SELECT request_id FROM reservations ORDER BY id`).map((r: { request_id: string }) => r.request_id)
    await waitFor(5_000, async () => (await openHolds()).length === 1)
    const [u2] = await direct`SELECT spend::int AS spend, reserved::int AS reserved FROM users WHERE id = 'u2'`
    const open = await openHolds()
    expect({ u2, open }).toEqual({ u2: { spend: 100 + 2_000 + 10 * 10, reserved: 0 }, open: ['r1'] })
  } finally {
    await session`ROLLBACK`.catch(() => {})
    session.release()
    await a.close()
    await direct.close()
  }
}, 60_000)
