/**
 * Mutation guard (Postgres): a key that already has a ceiling is given a new one (PATCH /v1/keys/:id max_budget, which
 * calls updateKey with takeOverHolds) while a hold on it is open. That hold was taken against the ceiling
 * (key_debited), so it is in the key's `reserved` already: the takeover (src/store/postgres/store.ts, updateKey) must
 * add only the holds not yet debited, or the hold counts twice, `reserved` never comes back to 0 after it settles, and
 * the key is refused budget it has (money kept from the caller for good).
 *
 * Kills the mutant: `UPDATE reservations SET key_debited = true WHERE key_id = ${id} RETURNING amount` (the
 * `AND NOT key_debited` dropped).
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { eq } from 'drizzle-orm'
import { Ledger } from '../../src/budget/ledger'
import { PostgresStore } from '../../src/store/postgres/store'
import { done, holdFor } from '../support/ledger-contract'
import { startPostgres, type TestPostgres } from './support/postgres'

let pg: TestPostgres
beforeAll(async () => {
  pg = await startPostgres()
})
afterAll(async () => {
  await pg?.destroy()
})

test('Postgres: raising a key ceiling over an open hold counts that hold once; once it settles the key holds nothing', async () => {
  const store = await PostgresStore.open(await pg.database('key_ceiling_raised'))
  try {
    const t = store.tables
    const now = Date.now()
    await store.db.insert(t.users).values({ id: 'u', maxBudget: null, budgetPeriod: null, periodStart: 0, createdAt: now, updatedAt: now })
    await store.db.insert(t.apiKeys).values({ id: 'k', userId: 'u', keyHash: 'k', keyPrefix: 'tg-x', maxBudget: 1_000, createdAt: now, updatedAt: now })
    const ledger = new Ledger(store.ledger, 60_000)
    const key = async () => {
      await ledger.flush()
      const [k] = await store.db.select().from(t.apiKeys).where(eq(t.apiKeys.id, 'k'))
      return { spend: Number(k!.spend), reserved: Number(k!.reserved) }
    }

    const open = await ledger.reserve(holdFor('u', 600, 'k'))
    expect(await key()).toEqual({ spend: 0, reserved: 600 })
    await store.updateKey('k', { maxBudget: 2_000 }, true)
    // The open hold is carried once, before and after the new ceiling.
    expect(await key()).toEqual({ spend: 0, reserved: 600 })
    // What the new ceiling leaves: 2000 − 600 = 1400 fits, one more does not.
    const second = await ledger.reserve(holdFor('u', 1_400, 'k'))
    second.settle(done(0))
    open.settle(done(250))
    expect(await key()).toEqual({ spend: 250, reserved: 0 })
  } finally {
    await store.close()
  }
})
