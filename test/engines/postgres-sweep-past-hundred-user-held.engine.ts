/**
 * A sweep reads the first 100 expired holds by id. When all 100 are of one user whose row another session holds (a
 * replica frozen mid-transaction, an operator's open transaction), it swept none of them, and ended: a batch of none
 * ends the sweep (Ledger.sweep), and every round read the same 100, so every other user's expired hold behind them
 * stayed open, its budget reserved (false 402s) for as long as the row stayed held. Now the held user's holds are
 * left out and the sweep reads on past them in the same round; they are swept, once, when the row is let go.
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

const asked = (requestId: string, userId: string) => ({
  requestId, userId, keyId: null, keyHash: null, amount: 5_000, model: 'p:a', provider: 'p', endpoint: '/v1/chat/completions', priceId: null, stream: false,
})

for (const stuckUsers of [1, 3]) {
  test(`100 expired holds each of ${stuckUsers} user(s) whose row is held elsewhere do not keep another user's expired holds from being swept`, async () => {
    const url = await pg.database(`sweep_past_hundred_user_held_${stuckUsers}`)
    const a = await PostgresStore.open(url, () => {}, 2_000)
    const direct = new SQL(url)
    const session = await direct.reserve()
    const stuck = Array.from({ length: stuckUsers }, (_, i) => `stuck${i}`)
    try {
      const now = Date.now()
      for (const id of [...stuck, 'other'])
        await direct`INSERT INTO users (id, max_budget, period_start, created_at, updated_at) VALUES (${id}, 100000000000, 0, ${now}, ${now})`
      const dead = new Ledger(a.ledger, 1_000)
      const sweeper = new Ledger(a.ledger, 1_000)
      const later = Date.now() + 60_000
      const renumber = (user: string, from: number) => direct`UPDATE reservations r SET id = ${from} + x.n
        FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM reservations WHERE user_id = ${user}) x WHERE r.id = x.id`
      // A dead replica's 100 holds of each stuck user, and two of `other`, whose ids come after them all.
      for (const [n, id] of stuck.entries()) {
        await Promise.all(Array.from({ length: 100 }, (_, i) => dead.reserve(asked(`${id}-${i}`, id))))
        // Each stuck user's holds before the next one's, as a hot user's crashed requests would come.
        await renumber(id, n * 1_000)
      }
      await Promise.all([dead.reserve(asked('o1', 'other')), dead.reserve(asked('o2', 'other'))])
      await renumber('other', 9007199254740000)
      // The stuck users' rows held by a transaction that does not end.
      await session`BEGIN`
      await session`SELECT 1 FROM users WHERE id IN ${direct(stuck)} FOR UPDATE`
      // One round of the sweeper's timer.
      const swept = await sweeper.sweep(later)
      const [other] = await direct`SELECT spend::int AS spend, reserved::int AS reserved FROM users WHERE id = 'other'`
      const stuckOpen = Number((await direct`SELECT count(*)::int AS n FROM reservations WHERE user_id <> 'other'`)[0].n)
      expect({ swept, other, stuckOpen }).toEqual({ swept: 2, other: { spend: 10_000, reserved: 0 }, stuckOpen: 100 * stuckUsers })
      // The row let go, the stuck users' holds are swept, each charged once.
      await session`COMMIT`
      expect(await sweeper.sweep(later)).toBe(100 * stuckUsers)
      expect(await sweeper.sweep(later)).toBe(0)
      const charged = await direct`SELECT id, spend::int AS spend, reserved::int AS reserved FROM users WHERE id <> 'other' ORDER BY id`
      expect(charged).toEqual(stuck.map((id) => ({ id, spend: 500_000, reserved: 0 })))
      const usageRows = Number((await direct`SELECT count(*)::int AS n FROM usage WHERE status = 'expired'`)[0].n)
      expect(usageRows).toBe(100 * stuckUsers + 2)
    } finally {
      await session`ROLLBACK`.catch(() => {})
      session.release()
      await a.close()
      await direct.close()
    }
  }, 90_000)
}
