/**
 * test/key-list-user-blocked.test.ts's case on the Postgres store: the keys list's query says, for each key of the
 * page, whether its user is blocked.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { keyRows } from '../../src/records/admin-lists'
import { PostgresStore } from '../../src/store/postgres/store'
import { startPostgres, type TestPostgres } from './support/postgres'

let pg: TestPostgres
beforeAll(async () => {
  pg = await startPostgres()
})
afterAll(async () => {
  await pg?.destroy()
})

test("Postgres: the keys list tells whether each key's user is blocked", async () => {
  const store = await PostgresStore.open(await pg.database('key_list_user_blocked'))
  try {
    const now = Date.now()
    const t = store.tables
    await store.db.insert(t.users).values([
      { id: 'blocked', periodStart: 0, blocked: true, createdAt: now, updatedAt: now },
      { id: 'free', periodStart: 0, createdAt: now, updatedAt: now },
    ])
    await store.db.insert(t.apiKeys).values([
      { id: 'k1', userId: 'blocked', keyHash: 'h1', keyPrefix: 'tg-1', createdAt: now, updatedAt: now },
      { id: 'k2', userId: 'free', keyHash: 'h2', keyPrefix: 'tg-2', createdAt: now, updatedAt: now },
    ])
    const all = await keyRows(store, { limit: 10, offset: 0 })
    expect(all.map((k) => [k.id, k.userBlocked])).toEqual([['k1', true], ['k2', false]])
    const ofOne = await keyRows(store, { userId: 'free', limit: 10, offset: 0 })
    expect(ofOne.map((k) => [k.id, k.userBlocked])).toEqual([['k2', false]])
  } finally {
    await store.close()
  }
})
