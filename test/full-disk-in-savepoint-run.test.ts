import { afterEach, beforeEach, expect, test } from 'bun:test'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { Ledger, type HoldRequest } from '../src/budget/ledger'
import { periodStart } from '../src/budget/period'
import { openDatabase, type Db } from '../src/db/open'
import { users } from '../src/db/schema'
import { WriteQueue } from '../src/db/write-queue'
import { SqliteLedgerStore } from '../src/store/sqlite/ledger-store'
import { tempDir } from './support/gateway'

/**
 * A batch whose fast run is undone by one poisoned write (a constraint) is run again with each write in its own
 * savepoint. A disk that fills up during that run (SQLITE_FULL) fails the batch as one: nothing commits, and
 * every waiter in it is refused. The savepoint run used to swallow that error as the one write's own, though
 * SQLite had rolled the whole transaction back: the writes after it then ran outside any transaction, each
 * committing alone, and the outer COMMIT failed ("no transaction is active"), refusing every caller, those whose
 * holds were just committed included (0 of 40 granted, 6 holds on disk, reserved 30), left for the sweeper to
 * charge in full.
 */
let dir: string
let db: Db
let writes: WriteQueue
let ledger: Ledger
/** What the queue reported (the poisoned row's error among them). */
const errors: unknown[] = []

beforeEach(() => {
  dir = tempDir()
  db = openDatabase(join(dir, 'ledger.db'))
  writes = new WriteQueue(db.$client, (e) => errors.push(e))
  ledger = new Ledger(new SqliteLedgerStore(db.$client, writes), 60_000)
  const now = Date.now()
  db.insert(users).values({ id: 'u', maxBudget: null, budgetPeriod: null, periodStart: periodStart(null, now), createdAt: now, updatedAt: now }).run()
})
afterEach(() => {
  writes.close()
  db.$client.close()
  rmSync(dir, { recursive: true, force: true })
})

const hold = (amount: number, model: string): HoldRequest => ({
  requestId: crypto.randomUUID(), userId: 'u', keyId: null, keyHash: null, amount, model, provider: 'mock', endpoint: '/v1/chat/completions', priceId: null, stream: false,
})

test('a full disk met in the savepoint run of a batch (after one poisoned write) leaves no committed hold whose caller was refused', async () => {
  const c = db.$client
  // One poisoned write: a request-log row the database refuses (a constraint), queued in the lingering lane.
  c.exec(`CREATE TRIGGER poison BEFORE INSERT ON api_request_log WHEN NEW.route = '/poison' BEGIN SELECT RAISE(ABORT, 'poisoned row'); END`)
  const insertLog = c.prepare(
    `INSERT INTO api_request_log (created_at, request_id, method, route, status, latency_ms, client_ip, key_id, user_id) VALUES (?, 'r', 'POST', '/poison', 200, 1, NULL, NULL, NULL)`,
  )
  writes.defer(() => void insertLog.run(Date.now()))
  // A disk that fills up part way through the batch (as in test/ledger.test.ts 'a full disk').
  const pages = (c.query('PRAGMA page_count').get() as { page_count: number }).page_count
  c.exec(`PRAGMA max_page_count = ${pages + 6}`) // room for a few holds, not for 40
  const filler = 'x'.repeat(4096)
  const asked = Array.from({ length: 40 }, () => ledger.reserve(hold(5, filler)))
  // A reader flushes before the turn's commit: both lanes in one batch, the poisoned write first.
  await ledger.flush().catch(() => {})
  const results = await Promise.allSettled(asked)
  c.exec('PRAGMA max_page_count = 1073741823')
  const granted = results.filter((r) => r.status === 'fulfilled').length
  const { reserved } = c.query('SELECT reserved FROM users WHERE id = ?').get('u') as { reserved: number }
  const { n } = c.query('SELECT COUNT(*) AS n FROM reservations').get() as { n: number }
  // Every hold on disk belongs to a caller who was given it; none is left for the sweeper to charge in full.
  expect({ holds: n, reserved }).toEqual({ holds: granted, reserved: granted * 5 })
  expect(ledger.openHolds).toBe(granted)
  // A refused caller hears of the full disk (503 database_full), not of a bare "cannot commit".
  const refusals = results.flatMap((r) => (r.status === 'rejected' ? [String((r.reason as { code?: unknown }).code)] : []))
  expect(new Set(refusals)).toEqual(new Set(['SQLITE_FULL']))
})
