/**
 * A virtual key whose user was deleted (the key went with it, by cascade) while another process
 * still had the key cached (cache_ttl_ms, or a replica without Redis) must be refused as the unknown key it
 * now is: 401 (SPEC §3 "401 missing/unknown/expired/revoked key"), as decideHold already does when the user
 * was created again under the same id. The user check once came first and answered 404 user_not_found
 * ("No user with id …"): an official SDK raises NotFoundError instead of AuthenticationError.
 */
import { afterEach, beforeEach, expect, test } from 'bun:test'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { Ledger } from '../src/budget/ledger'
import { GatewayError } from '../src/http/errors'
import { SqliteStore } from '../src/store/sqlite/store'
import { tempDir } from './support/gateway'
import { holdFor } from './support/ledger-contract'

let dir: string
let store: SqliteStore
beforeEach(() => {
  dir = tempDir()
  store = SqliteStore.open(join(dir, 'ledger.db'))
})
afterEach(async () => {
  await store.close()
  rmSync(dir, { recursive: true, force: true })
})

test('a hold asked with a key whose user (and so the key) was deleted is refused 401, like any key that no longer exists', async () => {
  const now = Date.now()
  const t = store.tables
  await store.db.insert(t.users).values({ id: 'u', maxBudget: 10_000, periodStart: 0, createdAt: now, updatedAt: now })
  await store.db.insert(t.apiKeys).values({ id: 'k', userId: 'u', keyHash: 'k', keyPrefix: 'tg-x', createdAt: now, updatedAt: now })
  expect(await store.deleteUser('u')).toBe(true)
  // Another process still has key `k` cached and admits a request with it.
  const ledger = new Ledger(store.ledger, 60_000)
  const refused = await ledger.reserve(holdFor('u', 100, 'k')).then(
    () => null,
    (e: unknown) => e as GatewayError,
  )
  expect(refused).toBeInstanceOf(GatewayError)
  expect({ status: refused!.status, code: refused!.code }).toEqual({ status: 401, code: 'invalid_api_key' })
})
