/**
 * Mutation guard: `GET /v1/usage/overview` answers spend "today and this calendar month (UTC)"
 * (README, the console's overview). console-overview.test.ts only has rows made today, so a `today` that also took
 * yesterday's rows, or a month read from one day before the 1st, went unnoticed: spend shown to the bill-payer
 * counted another day's (another month's) requests. Rows dated at the last millisecond before today and before
 * this month must count in neither (the latter), or only in the month (the former, when yesterday is this month's).
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { startMockProvider, type MockProvider } from './support/mock-provider'

const DAY_MS = 86_400_000
let mock: MockProvider
let gw: TestGateway

const row = (n: number, user: string, at: number, cost: number) =>
  gw.exec(
    `INSERT INTO usage (request_id, created_at, user_id, key_id, model, provider, endpoint, prompt_tokens, completion_tokens, cached_tokens, cost, reserved, status)
     VALUES (?, ?, ?, NULL, 'mock:gpt-mock', 'mock', '/v1/chat/completions', 1, 1, 0, ?, 0, 'ok')`,
    `kv-edge-${n}`, at, user, cost,
  )

beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock })
})
afterAll(async () => {
  await gw?.stop()
  await mock?.stop()
})

test("today counts only today's rows; the month only this month's", async () => {
  const now = Date.now()
  const startOfToday = Math.floor(now / DAY_MS) * DAY_MS
  const startOfMonth = Date.UTC(new Date(now).getUTCFullYear(), new Date(now).getUTCMonth(), 1)
  row(1, 'kv-today', startOfToday, 1_000_000) // $1.00, today
  row(2, 'kv-yesterday', startOfToday - 1, 2_000_000) // $2.00, the last ms of yesterday
  row(3, 'kv-last-month', startOfMonth - 1, 4_000_000) // $4.00, the last ms of last month
  const r = await gw.admin('GET', '/v1/usage/overview?top=10')
  expect(r.status).toBe(200)
  const yesterdayInMonth = startOfToday - 1 >= startOfMonth
  expect({ today: r.body.today, month: { requests: r.body.month.requests, cost: r.body.month.cost }, users: r.body.top_users.map((u: { name: string }) => u.name).sort() }).toEqual({
    today: { requests: 1, cost: 1 },
    month: yesterdayInMonth ? { requests: 2, cost: 3 } : { requests: 1, cost: 1 },
    users: yesterdayInMonth ? ['kv-today', 'kv-yesterday'] : ['kv-today'],
  })
})
