import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'

/**
 * `extra_headers` is not the only body field a LiteLLM proxy sends as headers of its call
 * (test/extra-headers-refused.test.ts): `completion()` builds them as `kwargs.get("headers") or extra_headers`, and
 * adds `provider_specific_header: {custom_llm_provider, extra_headers}` for the provider it names. A body's `headers`
 * or `provider_specific_header` carrying `anthropic-beta: context-1m-…` would open the long-context window on a model
 * with no long_context price, billed at the plain rate. Both are refused as `extra_headers` is, whatever they hold:
 * 400 `feature_unsupported` with `param` naming the field, before any hold or call.
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
  secret = (await gw.userWithKey({ id: 'router-headers-fields', max_budget: 10 })).secret
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})

const post = (path: string, body: Record<string, unknown>) =>
  fetch(`${gw.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })

const ONE_M = { 'anthropic-beta': 'context-1m-2025-08-07' }
const MESSAGE = { model: 'mockant:claude-x', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }
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
