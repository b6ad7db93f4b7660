/**
 * Mutation guard: a `/v1/usage/summary` walk is one snapshot (README, SPEC: later pages and their
 * totals read the usage as of the first page). A row dated on an earlier day but written after the first page (a
 * late settlement of a request begun before midnight, an import) is read from raw rows for its day, not from that
 * day's rollup, which already sums it. usage-summary-walk-one-snapshot.test.ts checks this with no `since`; with a
 * `since` cutting through a day, the first whole day after it (dayParts' `from`) is the edge case: a `<` turned `<=`
 * in partsOf left that day to the rollup, and a later page's totals counted a row no page lists.
 */
import { beforeAll, expect, test } from 'bun:test'
import { withMockGateway } from './support/mock-gateway'
import type { TestGateway } from './support/gateway'

const DAY_MS = 86_400_000
let gw: TestGateway
withMockGateway({}, (s) => ({ gw } = s))
let secret: string

const today = () => Math.floor(Date.now() / DAY_MS) * DAY_MS
const lateRow = (n: number, user: string, at: number) =>
  gw.exec(
    `INSERT INTO usage (request_id, created_at, user_id, key_id, model, provider, endpoint, prompt_tokens, completion_tokens, cached_tokens, cost, reserved, status)
     VALUES (?, ?, ?, NULL, 'mock:gpt-mock', 'mock', '/v1/chat/completions', 1, 1, 0, 1000, 0, 'ok')`,
    `kv-late-${n}`, at, user,
  )

beforeAll(async () => {
  secret = (await gw.userWithKey({ id: 'kv-now' })).secret
  const r = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'hi' }] }),
  })
  expect(r.status).toBe(200)
  await r.arrayBuffer()
  // Yesterday's usage, there before the walk.
  lateRow(0, 'kv-yesterday', today() - DAY_MS + 3_600_000)
  await gw.settled()
})

type Page = { data: Array<{ day: string; user_id: string; requests: number }>; next_cursor: string | null; totals: { requests: number; cost: number } }

test('a walk with `since` in the day before yesterday: a row dated yesterday written after the first page is in no page nor totals', async () => {
  // since mid-day two days ago: yesterday is the first whole day of the range, today its partial last day.
  const since = new Date(today() - 2 * DAY_MS + 12 * 3_600_000).toISOString()
  const pages: Page[] = []
  let cursor: string | null = null
  do {
    const r = await gw.admin('GET', `/v1/usage/summary?limit=1&since=${encodeURIComponent(since)}${cursor ? `&cursor=${cursor}` : ''}`)
    expect(r.status).toBe(200)
    pages.push(r.body as Page)
    cursor = pages.at(-1)!.next_cursor
    // Settled while the report is paged: another request of yesterday's user, dated yesterday.
    if (pages.length === 1) lateRow(1, 'kv-yesterday', today() - DAY_MS + 7_200_000)
  } while (cursor)
  const listed = pages.flatMap((p) => p.data).map((g) => `${g.user_id}:${g.requests}`)
  expect({ listed, totals: pages.map((p) => p.totals.requests) }).toEqual({ listed: ['kv-now:1', 'kv-yesterday:1'], totals: [2, 2] })
})
