/**
 * The records' time ranges are half-open, `since` included and `until` excluded, the request log's as /v1/usage's,
 * its summary's and the daily chart's: consecutive ranges (one UTC day, then the next) list each row once, and a
 * request-log row at exactly a range's end is in the range it begins, not also in the one before (it once was).
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'

let gw: TestGateway
const MIDNIGHT = Date.parse('2026-03-02T00:00:00Z')
beforeAll(async () => {
  // Kept whatever today is: the row is older than the 30 days' retention, whose prune starts with the gateway.
  gw = await startTestGateway({ config: { audit_retention_days: 0 } })
  gw.exec(
    `INSERT INTO api_request_log (created_at, request_id, method, route, status, latency_ms, client_ip, key_id, user_id, count)
     VALUES (?, 'req-at-midnight', 'POST', '/v1/chat/completions', 200, 5, '127.0.0.1', NULL, 'audit-user', 1)`,
    MIDNIGHT,
  )
})
afterAll(async () => {
  await gw.stop()
})

test('a request-log row at exactly a UTC midnight is in the day it begins, not also in the day before', async () => {
  const day = async (since: string, until: string) =>
    (await gw.admin('GET', `/v1/audit?user_id=audit-user&since=${since}&until=${until}`)).body.data.map((r: any) => r.request_id)
  const before = await day('2026-03-01T00:00:00Z', '2026-03-02T00:00:00Z')
  const after = await day('2026-03-02T00:00:00Z', '2026-03-03T00:00:00Z')
  expect({ before, after }).toEqual({ before: [], after: ['req-at-midnight'] })
})
