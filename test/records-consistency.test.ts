/**
 * The records agree with the ledger and with each other for the same filter: a user's spend and its usage
 * rows, the daily chart and the summary, a page and its totals. Runs on SQLite under `npm test`, and on
 * Postgres through test/engines/stores.engine.ts.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { startMockProvider, type MockProvider } from './support/mock-provider'

const DAY_MS = 86_400_000
let mock: MockProvider
let gw: TestGateway

const chat = (key: string) =>
  fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'hello there' }], max_tokens: 20 }),
  }).then(async (r) => ({ status: r.status, body: await r.json() }))

const insertRow = (at: number, user: string, cost: number, model = 'mock:gpt-mock', status = 'ok') =>
  gw.exec(
    `INSERT INTO usage (request_id, created_at, user_id, key_id, model, provider, endpoint, prompt_tokens, completion_tokens, cached_tokens, cost, reserved, status)
     VALUES (?, ?, ?, NULL, ?, 'mock', '/v1/chat/completions', 1, 1, 0, ?, 0, ?)`,
    crypto.randomUUID(), at, user, model, cost, status,
  )

beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock, config: { pricing: { 'mock:gpt-mock': { input_per_million: 1000, output_per_million: 2000 } } } })
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})

describe('the chart and the summary for one filter', () => {
  test('/v1/usage/daily with a range starting and ending mid-day sums what /v1/usage/summary sums for it', async () => {
    // Rows of one user on two UTC days, either side of the range's mid-day ends.
    const d = Math.floor(Date.UTC(2026, 0, 10) / DAY_MS) * DAY_MS
    insertRow(d + 1 * 3_600_000, 'rt-daily', 1_000_000) // 01:00 day 1: before since
    insertRow(d + 13 * 3_600_000, 'rt-daily', 2_000_000) // 13:00 day 1: in range
    insertRow(d + DAY_MS + 1 * 3_600_000, 'rt-daily', 4_000_000) // 01:00 day 2: in range
    insertRow(d + DAY_MS + 20 * 3_600_000, 'rt-daily', 8_000_000) // 20:00 day 2: at/after until
    const since = new Date(d + 12 * 3_600_000).toISOString()
    const until = new Date(d + DAY_MS + 12 * 3_600_000).toISOString()
    const q = `user_id=rt-daily&since=${since}&until=${until}`

    const summary = await gw.admin('GET', `/v1/usage/summary?${q}`)
    expect(summary.status).toBe(200)
    const usage = await gw.admin('GET', `/v1/usage?${q}`)
    const listed = usage.body.data.reduce((n: number, r: any) => n + r.cost, 0)
    expect(summary.body.totals.cost).toBe(6) // 2 + 4
    expect(listed).toBe(6)

    const daily = await gw.admin('GET', `/v1/usage/daily?by=user&${q}`)
    expect(daily.status).toBe(200)
    const charted = daily.body.series.reduce((n: number, s: any) => n + s.cost.reduce((a: number, b: number) => a + b, 0), 0)
    expect(charted).toBe(summary.body.totals.cost)
  })
})

describe('a user\'s spend against its usage rows', () => {
  test('after PATCH budget_period, spend equals the cost of the usage rows since the period_start it shows', async () => {
    const { secret } = await gw.userWithKey({ id: 'rt-period', max_budget: 100 })
    for (let i = 0; i < 2; i++) expect((await chat(secret)).status).toBe(200)
    await gw.settled()
    const patched = await gw.admin('PATCH', '/v1/users/rt-period', { budget_period: 'monthly' })
    expect(patched.status).toBe(200)
    // The new period is the calendar month under way, which holds the two rows before the change.
    const start = patched.body.period_start as string
    const today = new Date()
    const monthStart = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), 1)
    expect(Date.parse(start)).toBe(monthStart)
    const before = (await gw.admin('GET', `/v1/users/rt-period/usage?since=${start}`)).body.totals
    expect(before.requests).toBe(2)
    expect(patched.body.spend).toBe(before.cost)
    expect((await chat(secret)).status).toBe(200)
    await gw.settled()
    const user = (await gw.admin('GET', '/v1/users/rt-period')).body
    const inPeriod = (await gw.admin('GET', `/v1/users/rt-period/usage?since=${start}`)).body.totals
    expect(inPeriod.requests).toBe(3)
    expect({ period_start: user.period_start, spend: user.spend }).toEqual({ period_start: start, spend: inPeriod.cost })
  })

  test('a deleted user\'s id cannot be given to a new user while its usage rows remain: the records stay its own', async () => {
    const first = await gw.userWithKey({ id: 'rt-again' })
    expect((await chat(first.secret)).status).toBe(200)
    await gw.settled()
    expect((await gw.admin('DELETE', '/v1/users/rt-again')).status).toBe(200)
    const again = await gw.admin('POST', '/v1/users', { id: 'rt-again' })
    expect(again.status).toBe(409)
    expect(again.body.error.code).toBe('user_id_used')
    // An id never used is free, and one deleted before any usage too.
    expect((await gw.admin('POST', '/v1/users', { id: 'rt-unused' })).status).toBe(201)
    expect((await gw.admin('DELETE', '/v1/users/rt-unused')).status).toBe(200)
    expect((await gw.admin('POST', '/v1/users', { id: 'rt-unused' })).status).toBe(201)
  })
})

describe('a list and its totals in one answer', () => {
  test('GET /v1/key/usage right after a request: the totals count every row the page lists', async () => {
    const { secret } = await gw.userWithKey({ id: 'rt-fresh' })
    const seen: Array<{ rows: number; requests: number }> = []
    for (let i = 0; i < 15; i++) {
      expect((await chat(secret)).status).toBe(200)
      const r = await fetch(`${gw.url}/v1/key/usage?limit=1000`, { headers: { authorization: `Bearer ${secret}` } }).then((x) => x.json() as any)
      seen.push({ rows: r.data.length, requests: r.totals.requests })
    }
    expect(seen.filter((s) => s.rows !== s.requests)).toEqual([])
  })

  test('GET /v1/users/{id}/usage right after a request: the totals count every row the page lists', async () => {
    const { secret } = await gw.userWithKey({ id: 'rt-fresh-u' })
    const seen: Array<{ rows: number; requests: number }> = []
    for (let i = 0; i < 15; i++) {
      expect((await chat(secret)).status).toBe(200)
      const r = await gw.admin('GET', '/v1/users/rt-fresh-u/usage?limit=1000')
      seen.push({ rows: r.body.data.length, requests: r.body.totals.requests })
    }
    expect(seen.filter((s) => s.rows !== s.requests)).toEqual([])
  })
})
