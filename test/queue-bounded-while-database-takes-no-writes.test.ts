/**
 * While the database takes no writes (a full disk, SQLITE_FULL; a read-only file, SQLITE_READONLY) no hold can be
 * taken, but every request, each refused 503, still queues its request-log row, and the queue used to keep every
 * one of them (500 refused requests, 502 queued writes) until the process ran out of memory, losing the queued
 * settlements with it (their holds then charged in full by the sweeper). Settlements are kept, whatever the
 * outage's length (they are bounded by the holds in flight); request-log rows past a cap are dropped oldest first,
 * counted (tollgate_log_rows_dropped_total) and said once per outage; refusal counts are added up in one queued
 * write per count rather than one more at each failed try.
 */
import { afterEach, beforeEach, expect, test } from 'bun:test'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { Ledger, type HoldRequest, type Outcome } from '../src/budget/ledger'
import { periodStart } from '../src/budget/period'
import { openDatabase } from '../src/db/open'
import { users } from '../src/db/schema'
import { WriteQueue } from '../src/db/write-queue'
import type { RequestLogEntry } from '../src/records/request-log'
import { sqliteRefusalRows } from '../src/store/sqlite/refusal-rows'
import { SqliteStore } from '../src/store/sqlite/store'
import { tempDir } from './support/gateway'

const CAP = 20
let dir: string
let store: SqliteStore
let errors: unknown[]

beforeEach(() => {
  dir = tempDir('tollgate-queue-bounded-')
  errors = []
  store = new SqliteStore(openDatabase(join(dir, 'gateway.db')), (e) => errors.push(e), { maxQueuedLogRows: CAP })
  const now = Date.now()
  store.db.insert(users).values({ id: 'u', maxBudget: 100, budgetPeriod: null, periodStart: periodStart(null, now), createdAt: now, updatedAt: now }).run()
})
afterEach(async () => {
  store.db.$client.exec('PRAGMA query_only = OFF')
  await store.close()
  rmSync(dir, { recursive: true, force: true })
})

const hold = (amount: number): HoldRequest => ({
  requestId: crypto.randomUUID(), userId: 'u', keyId: null, keyHash: null, amount, model: 'mock:m', provider: 'mock', endpoint: '/v1/chat/completions', priceId: null, stream: false,
})
const done = (cost: number): Outcome => ({ cost, promptTokens: 1, completionTokens: 1, cachedTokens: 0, status: 'ok', latencyMs: 5 })
const logRow = (i: number): RequestLogEntry => ({
  createdAt: Date.now(), requestId: `req-${i}`, method: 'POST', route: '/v1/chat/completions', status: 503, latencyMs: 1, clientIp: '127.0.0.1', keyId: null, userId: 'u',
})
const one = <T>(sql: string) => store.db.$client.query(sql).get() as T
const saidDropped = () => errors.filter((e) => /request-log row/.test(String(e)) && /dropped/.test(String(e)))

test('500 requests refused while the database takes no writes: the queue keeps the settlements and the newest request-log rows up to the cap, and writes them once it takes writes', async () => {
  const ledger = new Ledger(store.ledger, 60_000)
  const holds = await Promise.all([ledger.reserve(hold(10)), ledger.reserve(hold(10)), ledger.reserve(hold(10))])
  // The connection the gateway writes on now takes no writes (SQLITE_READONLY), as a read-only remount does.
  store.db.$client.exec('PRAGMA query_only = ON')
  // The calls in flight end meanwhile: their settlements are queued, and refused with everything else.
  for (const h of holds) ledger.settle(h.taken, done(4))
  let refused = 0
  for (let i = 0; i < 500; i++) {
    await ledger.reserve(hold(10)).then(
      () => {},
      () => void refused++,
    )
    store.appendRequestLog(logRow(i))
  }
  // At least one of the queue's tries again (a second after a failed commit) has failed too.
  await Bun.sleep(1_200)
  expect(refused).toBe(500)
  expect(store.writes.queued).toBeLessThanOrEqual(CAP + holds.length)
  expect(store.droppedWhileUnwritable().logRows).toBe(500 - CAP)
  expect(saidDropped()).toHaveLength(1)

  store.db.$client.exec('PRAGMA query_only = OFF')
  await store.flush()
  expect({
    open: one<{ n: number }>('SELECT count(*) AS n FROM reservations').n,
    user: one('SELECT spend, reserved FROM users'),
    usage: one<{ n: number }>('SELECT count(*) AS n FROM usage').n,
    logged: store.db.$client.query('SELECT request_id FROM api_request_log ORDER BY id').all().map((r) => (r as { request_id: string }).request_id),
  }).toEqual({
    open: 0,
    user: { spend: 12, reserved: 0 },
    usage: 3,
    logged: Array.from({ length: CAP }, (_, i) => `req-${500 - CAP + i}`),
  })
})

test('a second outage is said again; rows written between the two are not dropped', async () => {
  store.db.$client.exec('PRAGMA query_only = ON')
  for (let i = 0; i < CAP + 5; i++) store.appendRequestLog(logRow(i))
  expect(saidDropped()).toHaveLength(1)
  store.db.$client.exec('PRAGMA query_only = OFF')
  await store.flush()
  for (let i = 0; i < CAP; i++) store.appendRequestLog(logRow(100 + i))
  await store.flush()
  store.db.$client.exec('PRAGMA query_only = ON')
  for (let i = 0; i < CAP + 1; i++) store.appendRequestLog(logRow(200 + i))
  expect({ said: saidDropped().length, dropped: store.droppedWhileUnwritable().logRows }).toEqual({ said: 2, dropped: 6 })
  store.db.$client.exec('PRAGMA query_only = OFF')
  await store.flush()
  expect(one<{ n: number }>('SELECT count(*) AS n FROM api_request_log').n).toBe(3 * CAP)
})

test('refusal counts while the database takes no writes: one queued write per hour and code (and per model, up to the models recorded), however many tries fail', async () => {
  const db = store.db.$client
  const queue = new WriteQueue(db, () => {}, 5, 2_000, 20)
  const refusals = sqliteRefusalRows(db, queue)
  const hour = 3_600_000
  try {
    db.exec('PRAGMA query_only = ON')
    for (let round = 0; round < 10; round++) {
      for (let i = 0; i < 50; i++) refusals.count(hour, 'rate_limit_exceeded')
      for (let i = 0; i < 50; i++) refusals.unpriced(`mock:m${round}-${i}`, Date.now(), 100)
      await Bun.sleep(30) // a failed try between rounds
    }
    // Two counts: (hour, code), and the first 100 models of the 500 asked for.
    expect(queue.queued).toBe(1 + 100)
    db.exec('PRAGMA query_only = OFF')
    await queue.flushed()
    expect(db.query('SELECT hour, code, count FROM refusal_counts').all()).toEqual([{ hour, code: 'rate_limit_exceeded', count: 500 }])
    expect(one<{ n: number; requests: number }>('SELECT count(*) AS n, sum(requests) AS requests FROM unpriced_models')).toEqual({ n: 100, requests: 100 })
  } finally {
    db.exec('PRAGMA query_only = OFF')
    queue.close()
  }
})
