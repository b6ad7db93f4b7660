/**
 * SPEC §3 admin surface and §7/§8 records: public routes carry request id, rate-limit and security headers;
 * X-Budget-Remaining is after the hold; a key's secret only at create/rotate; user fields; admin routes 403 to a
 * virtual key; lists {data} with limit/offset; usage row fields; audit rows for 402/403 with key and user;
 * Anthropic model list; stored responses only for their user; /v1/messages error shapes. (A duplicate user's
 * 409 is users.test.ts's.) Runs on both stores (test/engines/stores.engine.ts).
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { startMockProvider, type MockProvider } from './support/mock-provider'

let mock: MockProvider
let gw: TestGateway
let rich: string
let richId: string
let other: string

beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock, config: { rate_limit_per_min: 1000, pricing: { 'mock:gpt-mock': { input_per_million: 1, output_per_million: 2 }, 'mockant:claude': { input_per_million: 3, output_per_million: 15 } } } })
  ;({ secret: rich, keyId: richId } = await gw.userWithKey({ id: 'rich', max_budget: 100 }))
  other = (await gw.userWithKey({ id: 'other', max_budget: 100 })).secret
})
afterAll(async () => {
  await gw?.stop()
  await mock?.stop()
})

const chat = (key: string, extra: any = {}, headers: any = {}) =>
  fetch(gw.url + '/v1/chat/completions', {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'hi' }], max_tokens: 10, ...extra }),
  })

test('public routes carry request id and rate-limit headers', async () => {
  for (const p of ['/health', '/docs', '/docs/json', '/nope', '/v1/nope']) {
    const r = await fetch(gw.url + p)
    await r.text()
    expect({ p, id: !!r.headers.get('x-request-id') }).toEqual({ p, id: true })
    expect({ p, rl: r.headers.get('x-ratelimit-limit') }).toEqual({ p, rl: '1000' })
    expect({ p, n: r.headers.get('x-content-type-options') }).toEqual({ p, n: 'nosniff' })
  }
})

test('x-budget-remaining value is after the hold', async () => {
  const r = await chat(rich)
  await r.text()
  const v = Number(r.headers.get('x-budget-remaining'))
  expect(v).toBeLessThan(100)
  expect(v).toBeGreaterThan(99.99)
})

test('key list/get/patch never shows the secret', async () => {
  const created = await gw.admin('POST', '/v1/keys', { user_id: 'rich', name: 'x' })
  expect(created.status).toBe(201)
  expect(created.body.key).toMatch(/^tg-/)
  const id = created.body.id
  for (const [m, p, b] of [['GET', `/v1/keys/${id}`], ['PATCH', `/v1/keys/${id}`, { name: 'y' }], ['GET', '/v1/keys'], ['GET', '/v1/keys?user_id=rich']] as any[]) {
    const r = await gw.admin(m, p, b)
    const s = JSON.stringify(r.body)
    expect({ p, m, leaked: s.includes(created.body.key) || /"key"\s*:/.test(s) || /key_hash/.test(s) }).toEqual({ p, m, leaked: false })
  }
  const rot = await gw.admin('POST', `/v1/keys/${id}/rotate`)
  expect(rot.body.key).toMatch(/^tg-/)
  const old = await chat(created.body.key)
  expect(old.status).toBe(401)
  const del = await gw.admin('DELETE', `/v1/keys/${id}`)
  expect(del.status).toBeLessThan(300)
  expect(JSON.stringify(del.body ?? {})).not.toContain(rot.body.key)
  const revoked = await chat(rot.body.key)
  expect(revoked.status).toBe(401)
  const models = await fetch(gw.url + '/v1/models', { headers: { authorization: `Bearer ${rot.body.key}` } })
  expect(models.status).toBe(401)
  const key = await fetch(gw.url + '/v1/key', { headers: { authorization: `Bearer ${rot.body.key}` } })
  expect(key.status).toBe(401)
})

test('user fields', async () => {
  const r = await gw.admin('GET', '/v1/users/rich')
  for (const f of ['id', 'alias', 'max_budget', 'budget_period', 'spend', 'reserved', 'period_start', 'blocked']) expect(Object.keys(r.body)).toContain(f)
})

test('admin routes refuse a virtual key with 403', async () => {
  for (const [m, p] of [['GET', '/v1/users'], ['POST', '/v1/users'], ['GET', '/v1/users/rich'], ['GET', '/v1/users/rich/usage'], ['GET', '/v1/keys'], ['POST', '/v1/keys/x/rotate'], ['GET', '/v1/pricing'], ['GET', '/v1/pricing/mock:gpt-mock'], ['DELETE', '/v1/pricing/mock:gpt-mock'], ['GET', '/v1/usage'], ['GET', '/v1/usage/summary'], ['GET', '/v1/audit']]) {
    const r = await fetch(gw.url + p, { method: m, headers: { authorization: `Bearer ${rich}`, 'content-type': 'application/json' }, body: m === 'POST' ? '{}' : undefined })
    expect({ m, p, s: r.status }).toEqual({ m, p, s: 403 })
  }
})

test('lists paginate and return {data}', async () => {
  for (const p of ['/v1/users', '/v1/keys', '/v1/pricing', '/v1/usage', '/v1/usage/summary', '/v1/audit', '/v1/users/rich/usage']) {
    const r = await gw.admin('GET', p + '?limit=1')
    expect({ p, s: r.status, d: Array.isArray(r.body?.data) }).toEqual({ p, s: 200, d: true })
    const o = await gw.admin('GET', p + '?limit=1&offset=1')
    expect({ p, s: o.status }).toEqual({ p, s: 200 })
  }
})

test('usage row fields', async () => {
  const r = await chat(rich)
  const id = r.headers.get('x-request-id')
  await r.text()
  await gw.settled()
  const u = await gw.admin('GET', '/v1/usage?user_id=rich&limit=1000')
  const row = u.body.data.find((x: any) => x.request_id === id)
  expect(row).toBeTruthy()
  for (const f of ['request_id', 'user_id', 'key_id', 'model', 'provider', 'endpoint', 'prompt_tokens', 'completion_tokens', 'cached_tokens', 'cost', 'reserved', 'price_id', 'status', 'latency_ms', 'stream'])
    expect({ f, has: Object.keys(row).some((k) => k === f || k.startsWith(f)) }).toEqual({ f, has: true })
})

test('audit rows for 402 and 403 carry key and user', async () => {
  const poor = await gw.userWithKey({ id: 'poor', max_budget: 0 })
  const r402 = await chat(poor.secret)
  expect(r402.status).toBe(402)
  const r403 = await chat(rich, { user: 'other' })
  expect(r403.status).toBe(403)
  await gw.settled()
  const a = await gw.admin('GET', '/v1/audit?limit=1000')
  const find = (id: string | null) => a.body.data.find((x: any) => x.request_id === id)
  const row402 = find(r402.headers.get('x-request-id'))
  expect(row402).toMatchObject({ status: 402, key_id: poor.keyId, user_id: 'poor' })
  const row403 = find(r403.headers.get('x-request-id'))
  expect(row403).toMatchObject({ status: 403, key_id: richId, user_id: 'rich' })
})

test('anthropic models list', async () => {
  const r = await fetch(gw.url + '/v1/models', { headers: { 'x-api-key': rich, 'anthropic-version': '2023-06-01' } })
  const b: any = await r.json()
  expect(b.has_more).toBe(false)
  expect(b.data.length).toBe(2)
  expect(b.data[0].type).toBe('model')
})

test('GET /v1/responses/{id} only for the user that made it', async () => {
  const r = await fetch(gw.url + '/v1/responses', { method: 'POST', headers: { authorization: `Bearer ${rich}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'mock:gpt-mock', input: 'hi', max_output_tokens: 10 }) })
  const b: any = await r.json()
  expect(r.status).toBe(200)
  const mine = await fetch(gw.url + `/v1/responses/${b.id}`, { headers: { authorization: `Bearer ${rich}` } })
  expect(mine.status).toBe(200)
  const theirs = await fetch(gw.url + `/v1/responses/${b.id}`, { headers: { authorization: `Bearer ${other}` } })
  expect(theirs.status).toBe(404)
  const del = await fetch(gw.url + `/v1/responses/${b.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${other}` } })
  expect(del.status).toBe(404)
})

test('messages errors in anthropic shape: malformed, 404 model, 413-ish, missing field', async () => {
  const h = { 'x-api-key': rich, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' }
  const bad = await fetch(gw.url + '/v1/messages', { method: 'POST', headers: h, body: '{' })
  expect(bad.status).toBe(400)
  expect(await bad.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } })
  const unk = await fetch(gw.url + '/v1/messages', { method: 'POST', headers: h, body: JSON.stringify({ model: 'nope:x', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }) })
  expect(unk.status).toBe(404)
  expect(await unk.json()).toMatchObject({ type: 'error', error: { type: 'not_found_error' } })
  const miss = await fetch(gw.url + '/v1/messages', { method: 'POST', headers: h, body: JSON.stringify({ model: 'mockant:claude', max_tokens: 5 }) })
  expect(miss.status).toBe(400)
  expect(((await miss.json()) as any).error.message).toContain('messages')
})
