import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'

/**
 * A LiteLLM proxy takes a request's `extra_headers` as headers of the call it makes (`litellm.completion(
 * extra_headers=…)`), over the client headers it forwards, as it merges `extra_body` over the body
 * (test/extra-body-refused.test.ts). A Messages body's `extra_headers: {"anthropic-beta": "context-1m-…"}` would open
 * the long-context window on a model with no long_context price (the header's flag is a 402 there), billed at the
 * plain rate, and no anthropic-beta the provider's configuration sets could remove it. So wherever `extra_body` is
 * refused, `extra_headers` is too, whatever it holds: 400 `feature_unsupported`, `param: "extra_headers"` in the
 * OpenAI format, before any hold or call. `extra_headers` is not the only such field: `completion()` builds the
 * headers as `kwargs.get("headers") or extra_headers`, and adds `provider_specific_header: {custom_llm_provider,
 * extra_headers}` for the provider it names; both are refused alike, `param` naming the field.
 */

let mock: MockProvider
let gw: TestGateway
let secret: string

beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({
    mock,
    config: {
      pricing: {
        'mock:gpt-mock': { input_per_million: 1, output_per_million: 2 },
        'mockant:claude-x': { input_per_million: 1, output_per_million: 2 },
      },
    },
  })
  secret = (await gw.userWithKey({ id: 'router-headers', max_budget: 10 })).secret
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})

const post = (path: string, body: Record<string, unknown>, headers: Record<string, string> = {}) =>
  fetch(`${gw.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  })

const MESSAGE = { model: 'mockant:claude-x', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }

test('control: the 1M flag in the header, on a model without a long_context price, is a 402 and nothing is sent', async () => {
  const before = mock.calls.length
  const res = await post('/v1/messages', MESSAGE, { 'anthropic-beta': 'context-1m-2025-08-07' })
  expect({ status: res.status, sent: mock.calls.length - before }).toEqual({ status: 402, sent: 0 })
})

for (const extra of [{ 'anthropic-beta': 'context-1m-2025-08-07' }, { 'Anthropic-Beta': 'interleaved-thinking-2025-05-14,context-1m-2025-08-07' }]) {
  test(`messages: extra_headers ${JSON.stringify(extra)} is a 400 naming it, and nothing is sent`, async () => {
    const before = mock.calls.length
    const res = await post('/v1/messages', { ...MESSAGE, extra_headers: extra })
    const error = ((await res.json()) as { error: { message: string } }).error
    expect({ status: res.status, names: error.message.includes('extra_headers'), sent: mock.calls.length - before }).toEqual({ status: 400, names: true, sent: 0 })
  })
}

test('every route that refuses extra_body: 400 feature_unsupported with param extra_headers, before any call', async () => {
  const before = mock.calls.length
  const extra_headers = { 'x-any': '1' }
  for (const [path, body] of [
    ['/v1/chat/completions', { model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'hi' }], extra_headers }],
    ['/v1/responses', { model: 'mock:gpt-mock', input: 'hi', extra_headers }],
    ['/v1/embeddings', { model: 'mock:gpt-mock', input: 'hi', extra_headers }],
    ['/v1/moderations', { model: 'mock:gpt-mock', input: 'hi', extra_headers }],
    ['/v1/audio/speech', { model: 'mock:gpt-mock', input: 'hi', voice: 'alloy', extra_headers }],
    ['/v1/chat/completions', { model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'hi' }], extra_headers: 'anthropic-beta: context-1m-2025-08-07' }],
  ] as const) {
    const res = await post(path, body)
    const error = ((await res.json()) as { error?: { code?: string; param?: string } }).error
    expect({ path, status: res.status, code: error?.code, param: error?.param }).toEqual({ path, status: 400, code: 'feature_unsupported', param: 'extra_headers' })
  }
  const form = new FormData()
  form.append('model', 'mock:gpt-mock')
  form.append('extra_headers', '{"x-any": "1"}')
  form.append('file', new File(['RIFF'], 'a.wav', { type: 'audio/wav' }))
  const res = await fetch(`${gw.url}/v1/audio/transcriptions`, { method: 'POST', headers: { authorization: `Bearer ${secret}` }, body: form })
  const error = ((await res.json()) as { error?: { code?: string; param?: string } }).error
  expect({ status: res.status, code: error?.code, param: error?.param }).toEqual({ status: 400, code: 'feature_unsupported', param: 'extra_headers' })
  expect(mock.calls.length - before).toBe(0)
})

const ONE_M = { 'anthropic-beta': 'context-1m-2025-08-07' }
const CHAT = { model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'hi' }] }

for (const [name, path, body, param] of [
  ['messages: headers', '/v1/messages', { ...MESSAGE, headers: ONE_M }, 'headers'],
  ['messages: provider_specific_header', '/v1/messages', { ...MESSAGE, provider_specific_header: { custom_llm_provider: 'anthropic', extra_headers: ONE_M } }, 'provider_specific_header'],
  ['chat: headers', '/v1/chat/completions', { ...CHAT, headers: ONE_M }, 'headers'],
  ['chat: provider_specific_header', '/v1/chat/completions', { ...CHAT, provider_specific_header: { custom_llm_provider: 'openai', extra_headers: { 'x-any': '1' } } }, 'provider_specific_header'],
  ['embeddings: headers', '/v1/embeddings', { model: 'mock:gpt-mock', input: 'hi', headers: { 'x-any': '1' } }, 'headers'],
] as const) {
  test(`${name} is refused 400 feature_unsupported naming it, and nothing is sent`, async () => {
    const before = mock.calls.length
    const res = await post(path, body)
    const text = await res.text()
    expect({ status: res.status, names: text.includes(`Invalid body: ${param}:`), sent: mock.calls.length - before }).toEqual({ status: 400, names: true, sent: 0 })
    if (path !== '/v1/messages') expect(JSON.parse(text).error).toMatchObject({ code: 'feature_unsupported', param })
  })
}

test('a transcription form field headers is refused alike', async () => {
  const form = new FormData()
  form.append('model', 'mock:gpt-mock')
  form.append('headers', '{"anthropic-beta": "context-1m-2025-08-07"}')
  form.append('file', new File(['RIFF'], 'a.wav', { type: 'audio/wav' }))
  const before = mock.calls.length
  const res = await fetch(`${gw.url}/v1/audio/transcriptions`, { method: 'POST', headers: { authorization: `Bearer ${secret}` }, body: form })
  const error = ((await res.json()) as { error?: { code?: string; param?: string } }).error
  expect({ status: res.status, code: error?.code, param: error?.param, sent: mock.calls.length - before }).toEqual({ status: 400, code: 'feature_unsupported', param: 'headers', sent: 0 })
})
