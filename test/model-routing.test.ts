import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'

/**
 * Where a model name sends a request, and with which credential (README "Model names as clients send them"):
 * `provider:model` cuts at the FIRST `:` or `/`, so a model id holding colons (OpenAI's fine-tunes,
 * `ft:gpt-4o-mini:org::id`) keeps them; a name whose part before the first `:` or `/` is no configured provider
 * is a bare id, sent whole to the route's default provider (OpenRouter-style `meta-llama/llama-3.1-8b`); and two
 * providers serving the same model id are each called with their own key, never the other's.
 */
let mock: MockProvider
let other: MockProvider
let gw: TestGateway
let secret: string
const KEY_A = 'sk-upstream-secret-0123456789'
const KEY_B = 'sk-second-provider-key-abcdef0123456789'
const FINE_TUNE = 'ft:gpt-mock:acme::x1y2z3'
const ROUTED = 'meta-llama/llama-3.1-8b'

beforeAll(async () => {
  mock = startMockProvider()
  other = startMockProvider()
  const price = { input_per_million: 1, output_per_million: 2 }
  gw = await startTestGateway({
    mock,
    config: {
      providers: {
        mock: { type: 'openai', base_url: `${mock.url}/v1`, api_key: KEY_A },
        second: { type: 'openai', base_url: `${other.url}/v1`, api_key: KEY_B },
      },
      default_providers: { openai: 'second' },
      pricing: {
        'mock:gpt-mock': price,
        'second:gpt-mock': price,
        [`mock:${FINE_TUNE}`]: price,
        [`second:${ROUTED}`]: price,
      },
    },
  })
  secret = (await gw.userWithKey({ id: 'routing', max_budget: 10 })).secret
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
  await other.stop()
})
beforeEach(() => {
  mock.reset()
  other.reset()
})

const chat = (model: string) =>
  fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
  })

const rows = async () => {
  await gw.settled()
  return gw.query<{ model: string; provider: string }>('SELECT model, provider FROM usage ORDER BY rowid DESC LIMIT 1')
}

describe('model routing', () => {
  test('provider:model with colons in the model id: cut at the first colon, sent to that provider whole', async () => {
    const res = await chat(`mock:${FINE_TUNE}`)
    expect(res.status).toBe(200)
    await res.text()
    expect(other.calls.length).toBe(0)
    expect(mock.calls.length).toBe(1)
    expect((mock.calls[0]!.body as { model: string }).model).toBe(FINE_TUNE)
    expect(mock.calls[0]!.headers.authorization).toBe(`Bearer ${KEY_A}`)
    expect(await rows()).toEqual([{ model: `mock:${FINE_TUNE}`, provider: 'mock' }])
  })

  test('a name whose part before the first / is no provider is a bare id, sent whole to the default provider', async () => {
    const res = await chat(ROUTED)
    expect(res.status).toBe(200)
    await res.text()
    expect(mock.calls.length).toBe(0)
    expect(other.calls.length).toBe(1)
    expect((other.calls[0]!.body as { model: string }).model).toBe(ROUTED)
    expect(other.calls[0]!.headers.authorization).toBe(`Bearer ${KEY_B}`)
    expect(await rows()).toEqual([{ model: `second:${ROUTED}`, provider: 'second' }])
  })

  test('two providers serving the same model id: each is called with its own key, never the other\'s', async () => {
    for (const [model, provider, key, quiet] of [
      ['mock:gpt-mock', mock, KEY_A, other],
      ['second:gpt-mock', other, KEY_B, mock],
      ['mock:gpt-mock', mock, KEY_A, other],
      ['gpt-mock', other, KEY_B, mock],
    ] as const) {
      mock.reset()
      other.reset()
      const res = await chat(model)
      expect(res.status).toBe(200)
      await res.text()
      expect(quiet.calls.length).toBe(0)
      expect(provider.calls.length).toBe(1)
      expect(provider.calls[0]!.headers.authorization).toBe(`Bearer ${key}`)
      expect((provider.calls[0]!.body as { model: string }).model).toBe('gpt-mock')
    }
  })
})
