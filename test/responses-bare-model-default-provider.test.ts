import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { mockProviders, startTestGateway, type TestGateway } from './support/gateway'

/**
 * SPEC §3: a model may be served by a provider of the other wire format (translated); README: a bare id goes
 * to the route's default provider (`/v1/responses` is an OpenAI-format route), "the default may be a provider
 * of the other format: the request is translated". On /v1/responses the route chooses how to send the request
 * (native, via Anthropic Messages, via chat completions) by the model admission bills: the same resolution,
 * with the route's wire format. /v1/responses/input_tokens resolves a bare id the same way.
 */
let mock: MockProvider
let gw: TestGateway
let secret: string
const hello = { input: 'hi', max_output_tokens: 20 }

async function start(defaultOpenAI: string) {
  gw = await startTestGateway({
    mock,
    config: {
      providers: { ...mockProviders(mock), mockchat: { type: 'openai', base_url: `${mock.url}/v1`, api_key: 'sk-chat-0123456789', responses: 'chat' } },
      default_providers: { openai: defaultOpenAI },
      pricing: { 'mockant:claude-x': { input_per_million: 1, output_per_million: 2 }, 'mockchat:gpt-x': { input_per_million: 1, output_per_million: 2 } },
    },
  })
  secret = (await gw.userWithKey({ id: 'responses-bare' })).secret
}
const post = async (path: string, body: unknown) => {
  const r = await fetch(gw.url + path, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })
  return { status: r.status, body: (await r.json()) as any }
}

beforeAll(() => {
  mock = startMockProvider()
})
afterAll(async () => {
  await mock.stop()
})
beforeEach(() => mock.reset())

describe('a bare model id on /v1/responses', () => {
  test('with the OpenAI-format default an Anthropic provider: translated to /v1/messages, as chat is', async () => {
    await start('mockant')
    try {
      // Chat, same bare id, same default: translated (holds today).
      expect((await post('/v1/chat/completions', { model: 'claude-x', messages: [{ role: 'user', content: 'hi' }], max_tokens: 20 })).status).toBe(200)
      expect(mock.calls.map((c) => c.path)).toEqual(['/v1/messages'])
      mock.reset()
      const r = await post('/v1/responses', { model: 'claude-x', ...hello })
      expect(mock.calls.map((c) => c.path)).toEqual(['/v1/messages'])
      expect(r.status).toBe(200)
      expect(r.body.object).toBe('response')
    } finally {
      await gw.stop()
    }
  })

  test('with the default a `responses: chat` provider: sent to /chat/completions, never to its /responses', async () => {
    await start('mockchat')
    try {
      const r = await post('/v1/responses', { model: 'gpt-x', ...hello })
      expect(mock.calls.map((c) => c.path)).toEqual(['/v1/chat/completions'])
      expect(r.status).toBe(200)
    } finally {
      await gw.stop()
    }
  })

  test('/v1/responses/input_tokens resolves the bare id as /v1/responses does (not a 404)', async () => {
    await start('mockant')
    try {
      const r = await post('/v1/responses/input_tokens', { model: 'claude-x', input: 'hi' })
      expect(r.status).toBe(200)
      expect(mock.calls.map((c) => c.path)).toEqual(['/v1/messages/count_tokens'])
    } finally {
      await gw.stop()
    }
  })
})
