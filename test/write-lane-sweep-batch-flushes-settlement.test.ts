/**
 * Mutation guard. The sweeper's path (Ledger.sweep → SqliteLedgerStore.sweepBatch) must write the
 * settlements still lingering in the write queue before it reads the expired holds: a hold whose request ended (its
 * settlement queued, not yet committed) is otherwise found still open past its expiry and charged in full as
 * `expired`, and the real settlement then finds no hold (money: billed the hold, not the provider's price).
 * test/ledger.test.ts guards sweepNow (tools) only; the running sweeper calls sweepBatch.
 */
import { afterEach, beforeEach, expect, test } from 'bun:test'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { Hold } from '../src/budget/hold'
import { Ledger, type HoldRequest } from '../src/budget/ledger'
import { periodStart } from '../src/budget/period'
import { openDatabase, type Db } from '../src/db/open'
import { users } from '../src/db/schema'
import { WriteQueue } from '../src/db/write-queue'
import { GatewayError } from '../src/http/errors'
import { SqliteLedgerStore } from '../src/store/sqlite/ledger-store'
import { tempDir } from './support/gateway'

const TTL = 60_000
let dir: string
let db: Db
let writes: WriteQueue
let store: SqliteLedgerStore
let ledger: Ledger
let errors: unknown[]

beforeEach(() => {
  dir = tempDir()
  db = openDatabase(join(dir, 'ledger.db'))
  errors = []
  // A long linger: the settlement is surely still queued when the sweep runs.
  writes = new WriteQueue(db.$client, (e) => errors.push(e), 10_000)
  store = new SqliteLedgerStore(db.$client, writes)
  ledger = new Ledger(store, TTL)
  const now = Date.now()
  db.insert(users).values({ id: 'u', maxBudget: null, budgetPeriod: null, periodStart: periodStart(null, now), createdAt: now, updatedAt: now }).run()
})
afterEach(() => {
  writes.close()
  db.$client.close()
  rmSync(dir, { recursive: true, force: true })
  expect(errors).toEqual([])
})

const hold = (amount: number): HoldRequest => ({
  requestId: crypto.randomUUID(), userId: 'u', keyId: null, keyHash: null, amount, model: 'mock:m', provider: 'mock', endpoint: '/v1/chat/completions', priceId: null, stream: false,
})

test("the sweeper's batch writes a lingering settlement first: the hold is charged its real cost, not in full as expired", async () => {
  const now = Date.now()
  const taken = store.reserveNow(hold(500), now, TTL)
  if (taken instanceof GatewayError) throw taken
  new Hold(ledger, taken).settle({ cost: 42, promptTokens: 1, completionTokens: 1, cachedTokens: 0, status: 'ok', latencyMs: 1 })
  expect(writes.queued).toBe(1) // lingering, not committed
  // The sweeper's own path, past the hold's expiry.
  expect(await ledger.sweep(now + TTL + 1)).toBe(0)
  expect(db.$client.query("SELECT spend, reserved FROM users WHERE id = 'u'").get()).toEqual({ spend: 42, reserved: 0 })
  expect(db.$client.query('SELECT cost, status FROM usage').all()).toEqual([{ cost: 42, status: 'ok' }])
})
