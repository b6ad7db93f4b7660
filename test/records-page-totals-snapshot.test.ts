/**
 * A records answer is read on one snapshot of the database, so its parts agree even while settlements are
 * committed as it is read: a list page and its totals (`/v1/users/{id}/usage`; `/v1/key/usage` reads the
 * same way), the summary's groups and its grand totals. Each answer is one records query, all its statements
 * in one read transaction (SQLite's reader thread; on Postgres one REPEATABLE READ transaction). Read as two
 * queries, a settlement committed between them was counted by the totals and not listed (623 rows, 635
 * requests). Sequential requests (test/records-consistency.test.ts) never see that; settlements landing
 * while the answer is read do.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { startMockProvider, type MockProvider } from './support/mock-provider'

let mock: MockProvider
let gw: TestGateway

beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock })
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})

const chat = (key: string) =>
  fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 }),
  }).then((r) => r.arrayBuffer().then(() => r.status))

test('GET /v1/users/{id}/usage while requests settle: the totals count exactly the rows the page lists', async () => {
  const { secret } = await gw.userWithKey({ id: 'rt-cm-snap' })
  // Rows already there make the page query take a little while (as a real user's history does).
  gw.exec(
    `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 600)
     INSERT INTO usage (request_id, created_at, user_id, key_id, model, provider, endpoint, prompt_tokens, completion_tokens, cached_tokens, cost, reserved, status)
     SELECT 'rt-cm-snap-' || i, ?, 'rt-cm-snap', NULL, 'mock:gpt-mock', 'mock', '/v1/chat/completions', 1, 1, 0, 1, 0, 'ok' FROM n`,
    Date.now() - 60_000,
  )
  let running = true
  const traffic = Array.from({ length: 12 }, async () => {
    while (running) await chat(secret)
  })
  const mismatches: Array<{ rows: number; requests: number }> = []
  const until = Date.now() + 8_000
  let reads = 0
  while (Date.now() < until && mismatches.length === 0) {
    const r = await gw.admin('GET', '/v1/users/rt-cm-snap/usage?limit=1000')
    expect(r.status).toBe(200)
    reads++
    // Only while the page is every matching row (fewer than 1000) can it be compared with the totals.
    if (r.body.data.length >= 1000) break
    if (r.body.data.length !== r.body.totals.requests) mismatches.push({ rows: r.body.data.length, requests: r.body.totals.requests })
  }
  running = false
  await Promise.all(traffic)
  // Once nothing settles any more, the rows of every page add up to the totals.
  let listed = 0
  let cursor: string | null = null
  let totals = 0
  do {
    const page: any = await gw.admin('GET', `/v1/users/rt-cm-snap/usage?limit=1000${cursor ? `&cursor=${cursor}` : ''}`)
    listed += page.body.data.length
    totals = page.body.totals.requests
    cursor = page.body.next_cursor
  } while (cursor)
  expect(listed).toBe(totals)
  expect({ reads: reads > 0, mismatches }).toEqual({ reads: true, mismatches: [] })
}, 30_000)

test('GET /v1/usage/summary while requests settle: the grand totals are the sum of the groups listed (all on one page)', async () => {
  const { secret } = await gw.userWithKey({ id: 'rt-cm-snap-s' })
  // 900 earlier days of history: 900 groups, all on one page, that the summary query takes a little while over.
  gw.exec(
    `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 900)
     INSERT INTO usage (request_id, created_at, user_id, key_id, model, provider, endpoint, prompt_tokens, completion_tokens, cached_tokens, cost, reserved, status)
     SELECT 'rt-cm-old-' || i, ? - i * CAST(86400000 AS BIGINT), 'rt-cm-snap-s', NULL, 'mock:gpt-mock', 'mock', '/v1/chat/completions', 1, 1, 0, 1, 0, 'ok' FROM n`,
    Date.now(),
  )
  let running = true
  const traffic = Array.from({ length: 12 }, async () => {
    while (running) await chat(secret)
  })
  const mismatches: Array<{ grouped: number; requests: number }> = []
  const until = Date.now() + 8_000
  while (Date.now() < until && mismatches.length === 0) {
    const r = await gw.admin('GET', '/v1/usage/summary?limit=1000')
    expect(r.status).toBe(200)
    expect(r.body.next_cursor).toBeNull()
    const grouped = r.body.data.reduce((n: number, g: any) => n + g.requests, 0)
    if (grouped !== r.body.totals.requests) mismatches.push({ grouped, requests: r.body.totals.requests })
  }
  running = false
  await Promise.all(traffic)
  const quiet = await gw.admin('GET', '/v1/usage/summary?limit=1000')
  expect(quiet.body.data.reduce((n: number, g: any) => n + g.requests, 0)).toBe(quiet.body.totals.requests)
  expect(mismatches).toEqual([])
}, 30_000)
