/**
 * Mutation guard (Postgres lockedBatch, src/store/postgres/ledger-store.ts): a hold whose user's row is free but whose
 * key's row another session holds (an admin revoking the key: DELETE/PATCH of a key locks the key's row only) must not
 * be decided on the key's row as read without its lock: the revocation may be about to commit. lockedBatch leaves
 * such a hold to lockedUserBatch, which waits for the key's row and reads it revoked (401 key_revoked, nothing held).
 * Decided on the unlocked read, the hold is taken on a key revoked a moment before, and the provider is called on it
 * (README: a revoked key is refused by the hold, which reads the key's row).
 *
 * Kills the mutant (lockedBatch's users left to wait, line ~658):
 *   `isBusy(busy, r.userId, r.keyId)`  →  `isBusy(busy, r.userId, null)`
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { SQL } from 'bun'
import { Ledger } from '../../src/budget/ledger'
import { GatewayError } from '../../src/http/errors'
import { PostgresStore } from '../../src/store/postgres/store'
import { holdFor } from '../support/ledger-contract'
import { startPostgres, type TestPostgres } from './support/postgres'

let pg: TestPostgres
beforeAll(async () => {
  pg = await startPostgres()
})
afterAll(async () => {
  await pg?.destroy()
})

test('Postgres: a hold asked for while another session is revoking its key waits for that row, and is refused once it commits', async () => {
  const url = await pg.database('hold_waits_for_revoking_key')
  const store = await PostgresStore.open(url)
  const direct = new SQL(url)
  const admin = await direct.reserve()
  try {
    const t = store.tables
    const now = Date.now()
    await store.db.insert(t.users).values({ id: 'u', maxBudget: null, budgetPeriod: null, periodStart: 0, createdAt: now, updatedAt: now })
    await store.db.insert(t.apiKeys).values({ id: 'k', userId: 'u', keyHash: 'k', keyPrefix: 'tg-x', maxBudget: 10_000, createdAt: now, updatedAt: now })
    const ledger = new Ledger(store.ledger, 60_000)

    // An admin's revocation, under way: the key's row is locked, not the user's.
    await admin`BEGIN`
    await admin`UPDATE api_keys SET revoked_at = ${now} WHERE id = 'k'`
    const asked = ledger.reserve(holdFor('u', 500, 'k')).then((h) => ({ taken: true, held: h.taken.request.amount }), (e) => e)
    await Bun.sleep(150)
    await admin`COMMIT`
    const answer = await asked
    expect(answer instanceof GatewayError ? { refused: answer.status } : answer).toEqual({ refused: 401 })
    const [k] = await direct`SELECT reserved::int AS reserved FROM api_keys WHERE id = 'k'`
    const holds = await direct`SELECT 1 FROM reservations`
    expect({ keyReserved: k.reserved, holds: holds.length }).toEqual({ keyReserved: 0, holds: 0 })
  } finally {
    await admin`ROLLBACK`.catch(() => {})
    admin.release()
    await direct.close()
    await store.close()
  }
})
