import { afterEach, beforeEach, expect, test } from 'bun:test'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { Ledger, type HoldRequest } from '../src/budget/ledger'
import { periodStart } from '../src/budget/period'
import { openDatabase, type Db } from '../src/db/open'
import { SqliteLedgerStore } from '../src/store/sqlite/ledger-store'
import { apiKeys, users } from '../src/db/schema'
import { WriteQueue } from '../src/db/write-queue'
import { GatewayError } from '../src/http/errors'
import { tempDir } from './support/gateway'

/**
 * SPEC §6: a hold is taken while `spend + reserved + estimate <= max_budget`, for the user and, if set, the key;
 * with the clamp, a budget whose remainder is exactly the least hold still runs. The last micro-USD of a budget is
 * usable. (Mutation guard: `amount < least` turned `<=` in decideHold's key check (the user's is guarded by
 * test/ledger-stores.test.ts). `>` turned `>=` in the ceiling checks is an equivalent mutant: the clamp branch then
 * recomputes the same amount.)
 */
let dir: string
let db: Db
let store: SqliteLedgerStore
let ledger: Ledger

beforeEach(() => {
  dir = tempDir()
  db = openDatabase(join(dir, 'fit.db'))
  store = new SqliteLedgerStore(db.$client, new WriteQueue(db.$client))
  ledger = new Ledger(store, 60_000)
})
afterEach(() => {
  db.$client.close()
  rmSync(dir, { recursive: true, force: true })
})

function addUser(id: string, maxBudget: number | null) {
  const now = Date.now()
  db.insert(users).values({ id, maxBudget, budgetPeriod: null, periodStart: periodStart(null, now), createdAt: now, updatedAt: now }).run()
}
function addKey(id: string, userId: string, maxBudget: number | null) {
  const now = Date.now()
  db.insert(apiKeys).values({ id, userId, keyHash: id, keyPrefix: 'tg-x', maxBudget, createdAt: now, updatedAt: now }).run()
}
const request = (userId: string, keyId: string | null, amount: number, minAmount?: number): HoldRequest => ({
  requestId: crypto.randomUUID(), userId, keyId, keyHash: keyId, amount, minAmount, model: 'mock:m', provider: 'mock', endpoint: '/v1/chat/completions', priceId: null, stream: false,
})
const taken = (r: HoldRequest) => {
  const t = store.reserveNow(r, Date.now(), 60_000)
  if (t instanceof GatewayError) throw new Error(`refused ${t.status} ${t.code}: ${t.message}`)
  return t
}
const reserved = (table: 'users' | 'api_keys', id: string) => (db.$client.query(`SELECT reserved FROM ${table} WHERE id = ?`).get(id) as { reserved: number }).reserved

test("a hold exactly the user's budget left is taken", () => {
  addUser('u', 1000)
  expect(taken(request('u', null, 400)).request.amount).toBe(400)
  const last = taken(request('u', null, 600))
  expect(last.request.amount).toBe(600)
  expect(last.remainingAfter).toBe(0)
  expect(reserved('users', 'u')).toBe(1000)
  expect(store.reserveNow(request('u', null, 1), Date.now(), 60_000)).toBeInstanceOf(GatewayError)
})

test("a hold exactly the key's ceiling left is taken", () => {
  addUser('u', null)
  addKey('k', 'u', 500)
  expect(taken(request('u', 'k', 200)).request.amount).toBe(200)
  expect(taken(request('u', 'k', 300)).request.amount).toBe(300)
  expect(reserved('api_keys', 'k')).toBe(500)
  expect(store.reserveNow(request('u', 'k', 1), Date.now(), 60_000)).toBeInstanceOf(GatewayError)
})

test('with the clamp, a budget left of exactly the least hold runs on that hold (user and key)', () => {
  addUser('u', 1000)
  expect(taken(request('u', null, 5000, 1000)).request.amount).toBe(1000)
  addUser('v', null)
  addKey('k', 'v', 700)
  expect(taken(request('v', 'k', 5000, 700)).request.amount).toBe(700)
})
