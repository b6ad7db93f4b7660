/**
 * test/hold-deleted-user-key.test.ts's case on the Postgres store (two replicas on one database): replica A
 * deletes the user (its key goes with it, by cascade); replica B, which still has the key cached, asks a hold
 * with it. The key no longer exists: 401 (SPEC §3), not 404 user_not_found.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
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

test('Postgres: a hold asked with a key whose user (and so the key) another replica deleted is refused 401', async () => {
  const url = await pg.database('deleted_user_key')
  const a = await PostgresStore.open(url)
  const b = await PostgresStore.open(url)
  try {
    const now = Date.now()
    const t = a.tables
    await a.db.insert(t.users).values({ id: 'u', maxBudget: 10_000, periodStart: 0, createdAt: now, updatedAt: now })
    await a.db.insert(t.apiKeys).values({ id: 'k', userId: 'u', keyHash: 'k', keyPrefix: 'tg-x', createdAt: now, updatedAt: now })
    expect(await a.deleteUser('u')).toBe(true)
    const refused = await new Ledger(b.ledger, 60_000).reserve(holdFor('u', 100, 'k')).then(
      () => null,
      (e: unknown) => e as GatewayError,
    )
    expect(refused).toBeInstanceOf(GatewayError)
    expect({ status: refused!.status, code: refused!.code }).toEqual({ status: 401, code: 'invalid_api_key' })
  } finally {
    await a.close()
    await b.close()
  }
}, 60_000)
