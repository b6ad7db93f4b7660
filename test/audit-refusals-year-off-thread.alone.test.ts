/**
 * GET /v1/audit/refusals (src/routes/admin/overview.ts) read every refusal_counts row of its range with a
 * synchronous select on the request thread's own connection, then summed them per day in one loop. `days` goes to
 * 366 and the table keeps a row per hour and code for `audit_retention_days`: a year of some twenty codes an hour is
 * ~175,000 rows, and one admin GET held the request thread ~180 ms. It is a records query now (refusalsPerDay),
 * summed per day and code by the database, off the request thread. Issue 15: bounded at 50 ms, as the other
 * request-thread tests bound admin reads.
 */
import { Database } from 'bun:sqlite'
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { FORBIDDEN_CODES } from '../src/http/errors'
import { spawnGateway, type SpawnedGateway } from './support/gateway'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { quietThread, worstHoldDuring } from './support/request-thread-hold'

const HELD_MS = 50
const HOUR = 3_600_000
const codes = [...FORBIDDEN_CODES, 'budget_exceeded', 'key_budget_exceeded', 'user_budget_exceeded', 'pricing_required', 'rate_limited', 'tokens_rate_limited',
  'upstream_rate_limited', 'upstream_payment_required', 'feature_not_priced', 'concurrency_limited', 'requests_rate_limited', 'model_not_priced']
let mock: MockProvider
let gw: SpawnedGateway

beforeAll(async () => {
  mock = startMockProvider()
  gw = await spawnGateway({ mock, config: { audit_retention_days: 400 } })
  const db = new Database(gw.dbPath)
  db.exec('PRAGMA busy_timeout = 10000')
  const now = Math.floor(Date.now() / HOUR) * HOUR
  const insert = db.prepare('INSERT INTO refusal_counts (hour, code, count) VALUES (?, ?, ?) ON CONFLICT DO NOTHING')
  db.transaction(() => {
    for (let h = 0; h < 366 * 24; h++) for (const code of codes) insert.run(now - h * HOUR, code, 1 + (h % 7))
  })()
  db.exec('PRAGMA wal_checkpoint(TRUNCATE)')
  db.close()
  await quietThread(gw.proc.pid)
}, 120_000)

afterAll(async () => {
  await gw?.stop()
  mock?.stop()
})

test(`GET /v1/audit/refusals?days=366 over a year of ${codes.length} codes an hour does not hold the request thread`, async () => {
  // Warm: a first call's one-off costs (JIT, statement preparation) are not the point.
  expect((await gw.admin('GET', '/v1/audit/refusals?days=1')).status).toBe(200)
  await quietThread(gw.proc.pid)
  const report = gw.admin('GET', '/v1/audit/refusals?days=366')
  const worst = await worstHoldDuring(gw.url, report, gw.proc.pid)
  const res = await report
  console.log(`${366 * 24 * codes.length} refusal rows, GET /v1/audit/refusals?days=366: ${worst}`)
  expect(res.status).toBe(200)
  expect(worst.held).toBeLessThan(HELD_MS)
}, 60_000)
