/**
 * SPEC §3, §4, §6, §8 on every inference route (chat, messages, count_tokens, embeddings, moderations, speech,
 * transcriptions, responses, input_tokens; JSON and SSE): success carries X-Request-Id, X-RateLimit-*, the API
 * CSP and X-Budget-Remaining; a blocked user is 403; a user or key budget of exactly 0 is 402 budget_exceeded;
 * a key naming another user is 403 user_mismatch, the free counting routes included; the master key naming none
 * is 400, an unknown one 404; an unknown key is 401 in the route's error shape; x-api-key works like Bearer.
 * Runs on both stores (test/engines/stores.engine.ts).
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { startMockProvider, type MockProvider } from './support/mock-provider'

let mock: MockProvider
let gw: TestGateway
let rich: string
let zero: string
let other: string
let blocked: string
let keyZero: string

const PRICING = {
  'mock:gpt-mock': { input_per_million: 1, output_per_million: 2 },
  'mock:embed': { input_per_million: 1, output_per_million: 0 },
  'mock:omni': { input_per_million: 0, output_per_million: 0, per_request: 0.001 },
  'mock:tts': { input_per_million: 0, output_per_million: 0, per_request: 0.01 },
  'mock:stt': { input_per_million: 0, output_per_million: 0, per_request: 0.01 },
  'mockant:claude': { input_per_million: 3, output_per_million: 15 },
}

beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock, config: { pricing: PRICING, rate_limit_per_min: 1000 } })
  rich = (await gw.userWithKey({ id: 'rich', max_budget: 100 })).secret
  zero = (await gw.userWithKey({ id: 'zero', max_budget: 0 })).secret
  other = (await gw.userWithKey({ id: 'other', max_budget: 100 })).secret
  blocked = (await gw.userWithKey({ id: 'blocked', max_budget: 100 })).secret
  expect((await gw.admin('PATCH', '/v1/users/blocked', { blocked: true })).status).toBe(200)
  keyZero = (await gw.userWithKey({ id: 'unlimited' }, { max_budget: 0 })).secret
})
afterAll(async () => {
  await gw?.stop()
  await mock?.stop()
})

type Route = { name: string; path: string; body: (user?: string) => any; multipart?: boolean; anthropic?: boolean }
const ROUTES: Route[] = [
  { name: 'chat', path: '/v1/chat/completions', body: (u) => ({ model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'hi' }], max_tokens: 10, ...(u ? { user: u } : {}) }) },
  { name: 'chat-stream', path: '/v1/chat/completions', body: (u) => ({ model: 'mock:gpt-mock', stream: true, messages: [{ role: 'user', content: 'hi' }], max_tokens: 10, ...(u ? { user: u } : {}) }) },
  { name: 'messages', anthropic: true, path: '/v1/messages', body: (u) => ({ model: 'mockant:claude', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }], ...(u ? { metadata: { user_id: u } } : {}) }) },
  { name: 'messages-stream', anthropic: true, path: '/v1/messages', body: (u) => ({ model: 'mockant:claude', stream: true, max_tokens: 10, messages: [{ role: 'user', content: 'hi' }], ...(u ? { metadata: { user_id: u } } : {}) }) },
  { name: 'count_tokens', anthropic: true, path: '/v1/messages/count_tokens', body: (u) => ({ model: 'mockant:claude', messages: [{ role: 'user', content: 'hi' }], ...(u ? { metadata: { user_id: u } } : {}) }) },
  { name: 'embeddings', path: '/v1/embeddings', body: (u) => ({ model: 'mock:embed', input: 'hello', ...(u ? { user: u } : {}) }) },
  { name: 'moderations', path: '/v1/moderations', body: (u) => ({ model: 'mock:omni', input: 'hello', ...(u ? { user: u } : {}) }) },
  { name: 'speech', path: '/v1/audio/speech', body: (u) => ({ model: 'mock:tts', input: 'hello', voice: 'alloy', ...(u ? { user: u } : {}) }) },
  { name: 'transcriptions', multipart: true, path: '/v1/audio/transcriptions', body: (u) => ({ model: 'mock:stt', ...(u ? { user: u } : {}) }) },
  { name: 'responses', path: '/v1/responses', body: (u) => ({ model: 'mock:gpt-mock', input: 'hi', max_output_tokens: 10, ...(u ? { user: u } : {}) }) },
  { name: 'responses-stream', path: '/v1/responses', body: (u) => ({ model: 'mock:gpt-mock', stream: true, input: 'hi', max_output_tokens: 10, ...(u ? { user: u } : {}) }) },
  { name: 'input_tokens', path: '/v1/responses/input_tokens', body: (u) => ({ model: 'mock:gpt-mock', input: 'hi', ...(u ? { user: u } : {}) }) },
]

async function call(r: Route, auth: Record<string, string>, user?: string) {
  let body: string | FormData
  const headers: Record<string, string> = { ...auth }
  if (r.multipart) {
    const f = new FormData()
    for (const [k, v] of Object.entries(r.body(user))) f.set(k, String(v))
    f.set('file', new Blob([new Uint8Array(1000)], { type: 'audio/wav' }), 'a.wav')
    body = f
  } else {
    body = JSON.stringify(r.body(user))
    headers['content-type'] = 'application/json'
  }
  if (r.anthropic) headers['anthropic-version'] = '2023-06-01'
  const res = await fetch(gw.url + r.path, { method: 'POST', headers, body })
  const text = await res.text()
  let json: any = null
  try { json = JSON.parse(text) } catch {}
  return { status: res.status, headers: res.headers, text, json }
}

const bearer = (k: string) => ({ authorization: `Bearer ${k}` })

for (const r of ROUTES) {
  describe(r.name, () => {
    test('ok has headers', async () => {
      const a = await call(r, bearer(rich))
      expect({ s: a.status, t: a.text.slice(0, 200) }).toMatchObject({ s: 200 })
      expect(a.headers.get('x-request-id')).toBeTruthy()
      expect(a.headers.get('x-ratelimit-limit')).toBe('1000')
      expect(a.headers.get('x-ratelimit-remaining')).toBeTruthy()
      expect(a.headers.get('x-ratelimit-reset')).toBeTruthy()
      expect(a.headers.get('x-content-type-options')).toBe('nosniff')
      expect(a.headers.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'")
      if (!['count_tokens', 'input_tokens'].includes(r.name)) expect(a.headers.get('x-budget-remaining')).toBeTruthy()
    })
    test('blocked 403', async () => {
      const a = await call(r, bearer(blocked))
      expect({ s: a.status, t: a.text }).toMatchObject({ s: 403 })
      if (r.anthropic) expect(a.json).toMatchObject({ type: 'error', error: { type: 'permission_error' } })
      else expect(a.json.error.code).toBe('user_blocked')
    })
    test('key budget 0 → 402', async () => {
      if (['count_tokens', 'input_tokens'].includes(r.name)) return
      const a = await call(r, bearer(keyZero))
      expect({ s: a.status, t: a.text }).toMatchObject({ s: 402 })
      expect(a.headers.get('x-budget-remaining')).toBeNull()
    })
    test('mismatch 403', async () => {
      const a = await call(r, bearer(rich), 'other')
      expect({ s: a.status, t: a.text }).toMatchObject({ s: 403 })
      if (r.anthropic) expect(a.json).toMatchObject({ type: 'error', error: { type: 'permission_error' } })
      else expect(a.json.error.code).toBe('user_mismatch')
    })
    test('budget 0 → 402', async () => {
      if (['count_tokens', 'input_tokens'].includes(r.name)) return
      const a = await call(r, bearer(zero))
      expect({ s: a.status, t: a.text }).toMatchObject({ s: 402 })
      if (r.anthropic) expect(a.json).toMatchObject({ type: 'error', error: { type: expect.any(String) } })
      else expect(a.json.error.code).toBe('budget_exceeded')
      // The remaining budget, in the message (SPEC §6).
      expect(a.text).toContain('$0.000000 remaining')
    })
    test('master without user → 400, unknown → 404', async () => {
      // The free counting routes bill nobody: the master key need name no one there (free-calls-user-mismatch.test.ts).
      if (['count_tokens', 'input_tokens'].includes(r.name)) return
      const a = await call(r, gw.master)
      expect({ s: a.status, t: a.text }).toMatchObject({ s: 400 })
      const b = await call(r, gw.master, 'nobody')
      expect({ s: b.status, t: b.text }).toMatchObject({ s: 404 })
      const c = await call(r, gw.master, 'rich')
      expect({ s: c.status, t: c.text.slice(0, 200) }).toMatchObject({ s: 200 })
    })
    test('x-api-key works, bad key 401 in shape', async () => {
      const a = await call(r, { 'x-api-key': rich })
      expect({ s: a.status, t: a.text.slice(0, 200) }).toMatchObject({ s: 200 })
      const b = await call(r, { 'x-api-key': 'tg-nope' })
      expect(b.status).toBe(401)
      if (r.anthropic) expect(b.json).toMatchObject({ type: 'error', error: { type: 'authentication_error', message: expect.any(String) } })
      else expect(b.json).toMatchObject({ error: { message: expect.any(String), type: expect.any(String), code: 'invalid_api_key' } })
    })
  })
}
