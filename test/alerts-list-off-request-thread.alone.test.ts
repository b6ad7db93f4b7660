/**
 * GET /v1/alerts reads on the records reader, off the request thread, as the usage and audit lists do: every
 * crossing of every threshold is kept for the audit retention (10,000 users on daily budgets write 900,000 a
 * month), and an offset, or a filter on few rows, steps over all of them. A kind is read through its own index.
 * Issue 15: no admin query delays a concurrent request by more than a few ms; asserted by what the request
 * thread ran while a /health waited (support/request-thread-hold): 15 ms on a busy 2-core machine, 310–390 ms before.
 */
import { Database } from 'bun:sqlite'
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { worstHoldDuring } from './support/request-thread-hold'

/** Stepped over on the request thread, some 500 ms of it. */
const ALERTS = 600_000
const DAY_MS = 86_400_000
/** The request thread's run while one /health waited (see support/request-thread-hold). */
const HELD_MS = 60

let gw: TestGateway
beforeAll(async () => {
  gw = await startTestGateway()
  const db = new Database(gw.dbPath)
  db.exec('PRAGMA busy_timeout = 10000')
  const now = Date.now()
  // Daily-budget threshold alerts over the last 30 days, the oldest three a user blocked.
  db.query(
    `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
     INSERT INTO alerts (id, dedupe_key, kind, subject, payload, created_at, dedupe_until)
     SELECT printf('alt_%032x', i), 'budget:user:customer-' || (i % 10000) || ':' || i || ':10000000:50', iif(i <= 3, 'user_blocked', 'budget_threshold'),
            'customer-' || (i % 10000), '{"text":"tollgate: threshold","data":{}}', ?2 + i * (30 * ${DAY_MS} / ?1), ?2 + 40 * ${DAY_MS}
     FROM n`,
  ).run(ALERTS, now - 30 * DAY_MS)
  db.exec('PRAGMA wal_checkpoint(TRUNCATE)')
  db.close()
}, 60_000)
afterAll(async () => {
  await gw.stop()
})

test('GET /v1/alerts with an offset past the end does not hold /health up', async () => {
  const list = gw.admin('GET', `/v1/alerts?offset=${ALERTS}`)
  const worst = await worstHoldDuring(gw.url, list)
  const { status, body } = await list
  expect(status).toBe(200)
  expect(body.data).toEqual([])
  console.log(`${worst}`)
  expect(worst.held).toBeLessThan(HELD_MS)
})

test('GET /v1/alerts of a kind with few alerts finds them, newest first, page by page', async () => {
  const first = await gw.admin('GET', '/v1/alerts?kind=user_blocked&limit=2')
  expect(first.status).toBe(200)
  expect(first.body.data.map((a: { id: string }) => a.id)).toEqual(['alt_' + '3'.padStart(32, '0'), 'alt_' + '2'.padStart(32, '0')])
  const next = await gw.admin('GET', `/v1/alerts?kind=user_blocked&limit=2&cursor=${first.body.next_cursor}`)
  expect(next.body.data.map((a: { id: string }) => a.id)).toEqual(['alt_' + '1'.padStart(32, '0')])
})
