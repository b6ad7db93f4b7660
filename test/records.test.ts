import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'

let mock: MockProvider
let gw: TestGateway
const keys = {} as Record<'alice' | 'bob', { secret: string; keyId: string }>

const chat = (key: string, model = 'mock:gpt-mock') =>
  fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'record me' }], max_tokens: 10 }),
  })

beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock, config: { pricing: { 'mock:gpt-mock': { input_per_million: 1, output_per_million: 2 }, 'mock:other': { input_per_million: 5, output_per_million: 5 } } } })
  keys.alice = await gw.userWithKey({ id: 'alice', max_budget: 10 })
  keys.bob = await gw.userWithKey({ id: 'bob', max_budget: 10 })
  for (let i = 0; i < 3; i++) expect((await chat(keys.alice.secret)).status).toBe(200)
  expect((await chat(keys.alice.secret, 'mock:other')).status).toBe(200)
  for (let i = 0; i < 2; i++) expect((await chat(keys.bob.secret)).status).toBe(200)
  expect((await chat('tg-not-a-real-key')).status).toBe(401)
  await gw.settled()
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})

describe('GET /v1/usage', () => {
  test('lists usage rows newest first, in USD, filtered by user, key and model', async () => {
    const all = (await gw.admin('GET', '/v1/usage')).body
    expect(all.data.length).toBe(6)
    // Newest written first. On Postgres a settlement whose rows another transaction held a moment lands after later
    // ones (CI run 45: one of alice's above bob's), so the last request's row need not be the first.
    const ids = all.data.map((r: any) => r.id)
    expect(ids).toEqual([...ids].sort((a, b) => b - a))
    const bobs = all.data.find((r: any) => r.user_id === 'bob')
    expect(bobs).toMatchObject({ model: 'mock:gpt-mock', endpoint: '/v1/chat/completions', status: 'ok', stream: false })
    expect(typeof bobs.cost).toBe('number')
    expect(bobs.cost).toBeLessThan(0.001)

    expect((await gw.admin('GET', '/v1/usage?user_id=alice')).body.data.length).toBe(4)
    expect((await gw.admin('GET', `/v1/usage?key_id=${keys.bob.keyId}`)).body.data.length).toBe(2)
    expect((await gw.admin('GET', '/v1/usage?model=mock:other')).body.data.map((r: any) => r.user_id)).toEqual(['alice'])
    expect((await gw.admin('GET', `/v1/usage?since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)).body.data).toEqual([])
  })

  test('paginates with a cursor without repeating or skipping rows', async () => {
    const seen: number[] = []
    let cursor: string | null = null
    do {
      const page: any = (await gw.admin('GET', `/v1/usage?limit=4${cursor ? `&cursor=${cursor}` : ''}`)).body
      seen.push(...page.data.map((r: any) => r.id))
      cursor = page.next_cursor
    } while (cursor)
    expect(seen.length).toBe(6)
    expect(new Set(seen).size).toBe(6)
    expect((await gw.admin('GET', '/v1/usage?cursor=abc')).status).toBe(400)
  })
})

describe('GET /v1/usage/summary and /v1/users/{id}/usage', () => {
  test('totals by user, model and day add up to the users’ spend', async () => {
    const summary = (await gw.admin('GET', '/v1/usage/summary')).body
    const today = new Date().toISOString().slice(0, 10)
    const alice = summary.data.find((r: any) => r.user_id === 'alice' && r.model === 'mock:gpt-mock')
    expect(alice).toMatchObject({ day: today, requests: 3 })
    expect(summary.totals.requests).toBe(6)
    const spend = (await gw.admin('GET', '/v1/users/alice')).body.spend + (await gw.admin('GET', '/v1/users/bob')).body.spend
    expect(summary.totals.cost).toBeCloseTo(spend, 9)
    const bySum = summary.data.reduce((a: number, r: any) => a + r.cost, 0)
    expect(bySum).toBeCloseTo(spend, 9)
  })

  test('one user’s usage rows and totals; unknown user → 404', async () => {
    const res = (await gw.admin('GET', '/v1/users/bob/usage')).body
    expect(res.data.length).toBe(2)
    expect(res.data.every((r: any) => r.user_id === 'bob')).toBe(true)
    expect(res.totals.requests).toBe(2)
    expect(res.totals.cost).toBeCloseTo((await gw.admin('GET', '/v1/users/bob')).body.spend, 9)
    expect((await gw.admin('GET', '/v1/users/nobody/usage')).status).toBe(404)
  })
})

describe('GET /v1/audit', () => {
  test('every /v1 request is there, refusals included, filterable by key, user and status', async () => {
    const refused = (await gw.admin('GET', '/v1/audit?status=401')).body.data
    expect(refused.length).toBeGreaterThanOrEqual(1)
    expect(refused[0]).toMatchObject({ method: 'POST', route: '/v1/chat/completions', status: 401, key_id: null, user_id: null, client_ip: '127.0.0.1' })

    const bobs = (await gw.admin('GET', `/v1/audit?key_id=${keys.bob.keyId}`)).body.data
    expect(bobs.length).toBe(2)
    expect(bobs.every((r: any) => r.user_id === 'bob' && r.status === 200)).toBe(true)
    expect((await gw.admin('GET', '/v1/audit?user_id=alice&route=/v1/chat/completions')).body.data.length).toBe(4)
    expect((await gw.admin('GET', '/v1/audit?method=post&status=200')).body.data.length).toBeGreaterThanOrEqual(6)
  })

  test('paginates newest first; the admin requests themselves are logged with the master key id', async () => {
    const first = (await gw.admin('GET', '/v1/audit?limit=3')).body
    expect(first.data.length).toBe(3)
    expect(first.next_cursor).not.toBeNull()
    const second = (await gw.admin('GET', `/v1/audit?limit=3&cursor=${first.next_cursor}`)).body
    expect(second.data[0].id).toBeLessThan(first.data[2].id)
    await gw.settled()
    const own = (await gw.admin('GET', '/v1/audit?route=/v1/audit')).body.data
    expect(own.length).toBeGreaterThanOrEqual(2)
    expect(own[0].key_id).toBe('master')
  })

  test('hostile filter values are parameters, not SQL', async () => {
    const res = await gw.admin('GET', `/v1/audit?user_id=${encodeURIComponent("' OR 1=1; DROP TABLE users;--")}`)
    expect(res.status).toBe(200)
    expect(res.body.data).toEqual([])
    expect((await gw.admin('GET', '/v1/users/alice')).status).toBe(200)
  })
})
