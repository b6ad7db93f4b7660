/**
 * The usage CSV export (and every `/v1/usage` page with a cursor) pages by id, newest first. Filtered by a user
 * or a key, a page must read its 1,000 rows in id order from an index: read through the user's (or key's) time
 * index, each page read and sorted every row of theirs below its cursor, an export of n rows O(n²) (150,000 rows
 * took 17 s, against 1 s by model), all of it on the one records reader the console's pages wait behind.
 */
import { Database } from 'bun:sqlite'
import { drizzle } from 'drizzle-orm/bun-sqlite'
import { afterAll, beforeAll, expect, test } from 'bun:test'
import * as tables from '../src/db/schema'
import { usageRows } from '../src/records/usage-queries'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'

/** Rows of the exported user (and key), and as many of another user under another model. */
const ROWS = 60_000

let mock: MockProvider
let gw: TestGateway
beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock })
  await gw.userWithKey({ id: 'big', max_budget: 1000 })
  await gw.userWithKey({ id: 'other', max_budget: 1000 })
  const db = new Database(gw.dbPath)
  db.exec('PRAGMA busy_timeout = 10000')
  const now = Date.now()
  // Interleaved, a second apart: 'big' (key 'k-big') on mock:gpt-mock, 'other' on mock:other.
  db.query(
    `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
     INSERT INTO usage (request_id, created_at, user_id, key_id, model, provider, endpoint, prompt_tokens, completion_tokens, cost, reserved, status)
     SELECT 'gen-' || i, ?2 + i * 1000, iif(i % 2 = 0, 'big', 'other'), iif(i % 2 = 0, 'k-big', NULL),
            iif(i % 2 = 0, 'mock:gpt-mock', 'mock:other'), 'mock', '/v1/chat/completions', 100, 50, 200, 300, 'ok'
     FROM n`,
  ).run(2 * ROWS, now - 2 * ROWS * 1000 - 60_000)
  db.exec('PRAGMA wal_checkpoint(TRUNCATE)')
  db.close()
}, 60_000)
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})

test("a page of a user's or a key's rows after a cursor reads them in id order from an index, sorting nothing", () => {
  const client = new Database(gw.dbPath, { readonly: true })
  try {
    const source = { db: drizzle({ client }) as any, tables }
    for (const filter of [{ user_id: 'big' }, { key_id: 'k-big' }]) {
      const { sql, params } = usageRows(source, { ...filter, limit: 999, after: 50_000 }).toSQL()
      const plan = (client.query(`EXPLAIN QUERY PLAN ${sql}`).all(...(params as any[])) as Array<{ detail: string }>).map((r) => r.detail)
      expect(plan.join('; ')).not.toContain('TEMP B-TREE')
    }
  } finally {
    client.close()
  }
})

async function exportTime(query: string): Promise<{ ms: number; lines: number }> {
  const t = performance.now()
  const res = await fetch(`${gw.url}/v1/usage/csv?${query}`, { headers: gw.master })
  expect(res.status).toBe(200)
  const text = await res.text()
  return { ms: performance.now() - t, lines: text.split('\r\n').length - 2 }
}

test("a user's CSV export costs about what an export of as many rows under a model costs", async () => {
  const byModel = await exportTime('model=mock:gpt-mock')
  const byUser = await exportTime('user_id=big')
  expect(byModel.lines).toBe(ROWS)
  expect(byUser.lines).toBe(ROWS)
  expect(byUser.ms).toBeLessThan(2 * byModel.ms + 500)
}, 60_000)
