/**
 * SPEC §6 usage always asked of OpenAI-compatible streams, passed on only when asked; §7 malformed/non-object
 * JSON → 400 on every route; §4 a key expired while cached → 401 (Anthropic shape on /v1/messages); §3 chat fields
 * passed through. (The /health body is server.test.ts's.) Runs on both stores (test/engines/stores.engine.ts).
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { startMockProvider, type MockProvider } from './support/mock-provider'

let mock: MockProvider
let gw: TestGateway
let rich: string

beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock, config: { pricing: { 'mock:gpt-mock': { input_per_million: 1, output_per_million: 2 }, 'mockant:claude': { input_per_million: 3, output_per_million: 15 } } } })
  rich = (await gw.userWithKey({ id: 'rich', max_budget: 100 })).secret
})
afterAll(async () => {
  await gw?.stop()
  await mock?.stop()
})

const post = (path: string, body: any, headers: any = {}) =>
  fetch(gw.url + path, { method: 'POST', headers: { authorization: `Bearer ${rich}`, 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) })

test('stream: include_usage false explicitly → upstream asked, client not given', async () => {
  const before = mock.calls.length
  const r = await post('/v1/chat/completions', { model: 'mock:gpt-mock', stream: true, stream_options: { include_usage: false }, messages: [{ role: 'user', content: 'hi' }], max_tokens: 10 })
  const text = await r.text()
  const sent: any = mock.calls.slice(before).find((c) => c.path.endsWith('/chat/completions'))!.body
  expect(sent.stream_options?.include_usage).toBe(true)
  expect(text).not.toContain('"usage":{')
})

test('stream via anthropic route to openai model asks for usage', async () => {
  const before = mock.calls.length
  const r = await post('/v1/messages', { model: 'mock:gpt-mock', stream: true, messages: [{ role: 'user', content: 'hi' }], max_tokens: 10 }, { 'anthropic-version': '2023-06-01' })
  await r.text()
  const sent: any = mock.calls.slice(before).find((c) => c.path.endsWith('/chat/completions'))!.body
  expect(sent.stream_options?.include_usage).toBe(true)
})

test('non-object JSON bodies → 400', async () => {
  for (const b of ['null', '[]', '"x"', '1', 'true', '{"model":null}']) {
    for (const p of ['/v1/chat/completions', '/v1/messages', '/v1/embeddings', '/v1/responses', '/v1/moderations', '/v1/audio/speech', '/v1/messages/count_tokens', '/v1/responses/input_tokens']) {
      const r = await post(p, b)
      const t = await r.text()
      expect({ p, b, s: r.status, t }).toEqual({ p, b, s: 400, t })
    }
  }
})

test('admin non-object bodies → 400', async () => {
  for (const b of ['null', '[]', '"x"', '1']) {
    for (const [m, p] of [['POST', '/v1/users'], ['POST', '/v1/keys'], ['POST', '/v1/pricing'], ['PATCH', '/v1/users/rich']]) {
      const r = await fetch(gw.url + p, { method: m, headers: { ...gw.master, 'content-type': 'application/json' }, body: b })
      expect({ p, b, s: r.status }).toEqual({ p, b, s: 400 })
    }
  }
})

test('expired key while cached → 401', async () => {
  const k = await gw.admin('POST', '/v1/keys', { user_id: 'rich', expires_at: new Date(Date.now() + 800).toISOString() })
  expect(k.status).toBe(201)
  const a = await fetch(gw.url + '/v1/models', { headers: { authorization: `Bearer ${k.body.key}` } })
  expect(a.status).toBe(200)
  await Bun.sleep(900)
  const b = await fetch(gw.url + '/v1/models', { headers: { authorization: `Bearer ${k.body.key}` } })
  expect(b.status).toBe(401)
  const c = await post('/v1/messages', { model: 'mockant:claude', messages: [{ role: 'user', content: 'hi' }], max_tokens: 10 }, { authorization: '', 'x-api-key': k.body.key })
  expect(c.status).toBe(401)
  expect(await c.json()).toMatchObject({ type: 'error', error: { type: 'authentication_error' } })
})

test('chat: OpenAI fields passed through', async () => {
  const extra = { seed: 7, logit_bias: { '50256': -100 }, metadata: { a: 'b' }, store: true, parallel_tool_calls: false, logprobs: true, top_logprobs: 2, prompt_cache_key: 'k', safety_identifier: 's', verbosity: 'low', stop: ['x'], temperature: 0.5, frequency_penalty: 0.1, presence_penalty: 0.1, top_p: 0.9, response_format: { type: 'json_object' }, user: 'rich' }
  const before = mock.calls.length
  const r = await post('/v1/chat/completions', { model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'json hi' }], max_tokens: 10, ...extra })
  expect(r.status).toBe(200)
  await r.text()
  const sent: any = mock.calls.slice(before).find((c) => c.path.endsWith('/chat/completions'))!.body
  for (const [k, v] of Object.entries(extra)) expect({ k, v: sent[k] }).toEqual({ k, v })
})
