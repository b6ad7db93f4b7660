/**
 * Mutation guard (Postgres SETTLE, src/store/postgres/ledger-store.ts): a settlement whose hold another replica's
 * sweeper already charged in full (the request outlived the TTL) finds its hold gone, and must move nothing: the
 * sweep took the hold out of `reserved` and charged its amount to `spend`; the late settlement adds no usage row, no
 * spend, and takes nothing out of `reserved` again (SPEC/README: a hold settles once). The contract suite checks the
 * usage rows and what is observed for such a settlement, never the user's and key's figures, so SETTLE moving the
 * figures by every settlement asked for (not only those whose hold its DELETE found) went unnoticed: the caller is
 * charged twice (sweep + real cost) and `reserved` goes below the open holds, letting later holds pass the ceiling.
 *
 * Kills the mutant in SETTLE's `p` (the figures' source):
 *   `FROM settled st JOIN users …`  →  `FROM (SELECT s.*, true AS key_debited FROM s) st JOIN users …`
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

test('Postgres: a settlement landing after another replica swept its hold charges nothing more, and leaves reserved alone', async () => {
  const url = await pg.database('swept_settlement_no_charge')
  const a = await PostgresStore.open(url)
  try {
    const t = a.tables
    const now = Date.now()
    await a.db.insert(t.users).values({ id: 'u', maxBudget: 10_000, budgetPeriod: null, periodStart: 0, createdAt: now, updatedAt: now })
    await a.db.insert(t.apiKeys).values({ id: 'k', userId: 'u', keyHash: 'k', keyPrefix: 'tg-x', maxBudget: 10_000, createdAt: now, updatedAt: now })
    const ledger = new Ledger(a.ledger, 60_000)
    const figures = async () => {
      await ledger.flush()
      const [u] = await a.db.select().from(t.users).where(eq(t.users.id, 'u'))
      const [k] = await a.db.select().from(t.apiKeys).where(eq(t.apiKeys.id, 'k'))
      return { user: { spend: Number(u!.spend), reserved: Number(u!.reserved) }, key: { spend: Number(k!.spend), reserved: Number(k!.reserved) } }
    }

    // Reserved an hour ago (expired), its request still running; another replica's sweeper charges it in full.
    const late = await ledger.reserve(holdFor('u', 3_000, 'k'), now - 3_600_000)
    const open = await ledger.reserve(holdFor('u', 1_000, 'k'), now)
    const b = await PostgresStore.open(url)
    try {
      expect(await new Ledger(b.ledger, 60_000).sweep(now)).toBe(1)
    } finally {
      await b.close()
    }
    expect(await figures()).toEqual({ user: { spend: 3_000, reserved: 1_000 }, key: { spend: 3_000, reserved: 1_000 } })

    // The request ends: its settlement finds the hold gone. On its own, and riding in a reservation's transaction.
    late.settle(done(2_500))
    expect(await figures()).toEqual({ user: { spend: 3_000, reserved: 1_000 }, key: { spend: 3_000, reserved: 1_000 } })
    open.settle(done(400))
    expect(await figures()).toEqual({ user: { spend: 3_400, reserved: 0 }, key: { spend: 3_400, reserved: 0 } })
    // What is left of the budget is exactly 10 000 − 3 400.
    expect((await ledger.reserve(holdFor('u', 6_600, 'k'), now)).remainingAfter).toBe(0)
  } finally {
    await a.close()
  }
})
