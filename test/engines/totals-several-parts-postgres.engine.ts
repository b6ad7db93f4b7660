/**
 * Mutation guard: on Postgres a bigint sum comes back as numeric text (usage-queries.ts says so and
 * reads every sum back through Number()). A range cut mid-day at both ends with whole days between is summed from
 * three parts (the raw rows of each end, the rollup's whole days) added in JS: with a sum left as text, `0 + "4000000"
 * + "2000000"` concatenates, and the totals a bill-payer reads are wrong by orders of magnitude. The SQLite suites
 * cannot see it (SQLite answers numbers), and no Postgres suite read totals over more than one part, so dropping the
 * Number() of `cost` in `numbers` went unnoticed.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from '../support/mock-provider'
import { startTestGateway, type TestGateway } from '../support/gateway'
import { startPostgres, type TestPostgres } from './support/postgres'

const DAY_MS = 86_400_000
const HOUR_MS = 3_600_000
const D = Date.UTC(2026, 2, 1) // 2026-03-01

let pg: TestPostgres
let mock: MockProvider
let gw: TestGateway
beforeAll(async () => {
  pg = await startPostgres()
  mock = startMockProvider()
  gw = await startTestGateway({ mock, config: { database_url: await pg.database('kv_totals_parts') } })
  const row = (n: number, at: number, cost: number) =>
    gw.exec(
      `INSERT INTO usage (request_id, created_at, user_id, key_id, model, provider, endpoint, prompt_tokens, completion_tokens, cached_tokens, cost, reserved, status)
       VALUES (?, ?, 'kv-parts', NULL, 'mock:gpt-mock', 'mock', '/v1/chat/completions', 10, 5, 0, ?, 0, 'ok')`,
      `kv-parts-${n}`, at, cost,
    )
  row(1, D + 18 * HOUR_MS, 1_000_000) // day 1, after since: the range's partial first day (raw rows)
  row(2, D + DAY_MS + 12 * HOUR_MS, 2_000_000) // day 2: a whole day (the rollup)
  row(3, D + 2 * DAY_MS + 6 * HOUR_MS, 4_000_000) // day 3, before until: the partial last day (raw rows)
}, 60_000)
afterAll(async () => {
  await gw?.stop()
  await mock?.stop()
  await pg?.destroy()
})

test('totals over a range cut mid-day at both ends, on Postgres, are the sum of its rows', async () => {
  const range = `since=${new Date(D + 12 * HOUR_MS).toISOString()}&until=${new Date(D + 2 * DAY_MS + 12 * HOUR_MS).toISOString()}`
  const totals: Record<string, unknown> = {}
  for (const path of [`/v1/usage/summary?${range}`, `/v1/usage?user_id=kv-parts&${range}&limit=1`, `/v1/users/kv-parts/usage?${range}`]) {
    const r = await gw.admin('GET', path)
    expect(r.status).toBe(200)
    if (r.body.totals) totals[path.split('?')[0]!] = { requests: r.body.totals.requests, cost: r.body.totals.cost, prompt_tokens: r.body.totals.prompt_tokens }
  }
  const expected = { requests: 3, cost: 7, prompt_tokens: 30 }
  expect(totals).toEqual({ '/v1/usage/summary': expected, '/v1/users/kv-parts/usage': expected })
})
