/**
 * SPEC §7 a key's rpm_limit (headers, 429 + Retry-After in Anthropic shape, logged with key and user) and §6 a
 * budget of exactly 0 (a free model served with X-Budget-Remaining 0; a priced one 402 naming $0 remaining).
 * Runs on both stores (test/engines/stores.engine.ts).
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { startMockProvider, type MockProvider } from './support/mock-provider'

let mock: MockProvider
let gw: TestGateway

beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock, config: { rate_limit_per_min: 1000, pricing: { 'mock:gpt-mock': { input_per_million: 1, output_per_million: 2 }, 'mockant:claude': { input_per_million: 3, output_per_million: 15 } } } })
})
afterAll(async () => {
  await gw?.stop()
  await mock?.stop()
})

test('key rpm_limit: headers describe it, 429 with Retry-After in the route shape, logged with key', async () => {
  const { secret, keyId } = await gw.userWithKey({ id: 'u', max_budget: 10 }, { rpm_limit: 2 })
  const h = { 'x-api-key': secret, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' }
  const body = JSON.stringify({ model: 'mockant:claude', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] })
  const a = await fetch(gw.url + '/v1/messages', { method: 'POST', headers: h, body })
  await a.text()
  expect(a.status).toBe(200)
  expect([a.headers.get('x-ratelimit-limit'), a.headers.get('x-ratelimit-remaining')]).toEqual(['2', '1'])
  const b = await fetch(gw.url + '/v1/models', { headers: h })
  await b.text()
  expect([b.headers.get('x-ratelimit-limit'), b.headers.get('x-ratelimit-remaining')]).toEqual(['2', '0'])
  const c = await fetch(gw.url + '/v1/messages', { method: 'POST', headers: h, body })
  expect(c.status).toBe(429)
  expect(Number(c.headers.get('retry-after'))).toBeGreaterThan(0)
  expect(c.headers.get('x-ratelimit-limit')).toBe('2')
  expect(c.headers.get('x-ratelimit-remaining')).toBe('0')
  expect(Number(c.headers.get('x-ratelimit-reset'))).toBeGreaterThan(Date.now() / 1000)
  expect(await c.json()).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' } })
  await gw.settled()
  const rows = gw.query('SELECT status, key_id, user_id FROM api_request_log WHERE request_id = ?', c.headers.get('x-request-id'))
  expect(rows).toEqual([{ status: 429, key_id: keyId, user_id: 'u' }])
})

test('budget exactly 0: a free model is served, X-Budget-Remaining 0', async () => {
  await gw.admin('POST', '/v1/pricing', { model: 'mock:free', input_per_million: 0, output_per_million: 0 })
  const { secret } = await gw.userWithKey({ id: 'z', max_budget: 0 })
  const r = await fetch(gw.url + '/v1/chat/completions', { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'mock:free', messages: [{ role: 'user', content: 'hi' }] }) })
  await r.text()
  expect(r.status).toBe(200)
  expect(Number(r.headers.get('x-budget-remaining'))).toBe(0)
  const p = await fetch(gw.url + '/v1/chat/completions', { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'hi' }] }) })
  expect(p.status).toBe(402)
  expect(((await p.json()) as any).error.message).toContain('$0.000000 remaining')
})
