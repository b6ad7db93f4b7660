import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test'
import Anthropic from '@anthropic-ai/sdk'
import OpenAI from 'openai'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { configSchema } from '../src/config/schema'
import { mockProviders, startTestGateway, type TestGateway } from './support/gateway'

/**
 * Model names as clients send them: a bare id goes to the default provider of the route's wire format
 * (chat: openai, messages: anthropic), and prices, allow-lists and usage rows see its canonical name.
 */
let mock: MockProvider
let gw: TestGateway
let secret: string

beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({
    mock,
    config: {
      default_providers: { openai: 'mock', anthropic: 'mockant' },
      pricing: {
        'mockant:claude-opus-4-8': { input_per_million: 1, output_per_million: 2 },
        'mock:gpt-5': { input_per_million: 1, output_per_million: 2 },
      },
    },
  })
  secret = (await gw.userWithKey({ id: 'bare' })).secret
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})
beforeEach(() => mock.reset())

const anthropic = (key = secret) => new Anthropic({ apiKey: key, baseURL: gw.url, maxRetries: 0 })
const openai = (key = secret) => new OpenAI({ apiKey: key, baseURL: `${gw.url}/v1`, maxRetries: 0 })
const hello = [{ role: 'user' as const, content: 'hi' }]

describe('a bare model id', () => {
  test("Claude Code's hard-coded id on /v1/messages goes to the default Anthropic provider, priced and recorded as provider:model", async () => {
    const message = await anthropic().messages.create({ model: 'claude-opus-4-8', max_tokens: 20, messages: hello })
    expect(message.type).toBe('message')
    expect(mock.calls[0]!.path).toBe('/v1/messages')
    expect((mock.calls[0]!.body as any).model).toBe('claude-opus-4-8')
    await gw.settled()
    expect(gw.query("SELECT model, provider FROM usage WHERE endpoint = '/v1/messages'")).toEqual([{ model: 'mockant:claude-opus-4-8', provider: 'mockant' }])
  })

  test('on /v1/chat/completions goes to the default OpenAI provider', async () => {
    await openai().chat.completions.create({ model: 'gpt-5', messages: hello })
    expect(mock.calls[0]!.path).toBe('/v1/chat/completions')
    expect((mock.calls[0]!.body as any).model).toBe('gpt-5')
  })

  test('an unpriced bare id is a 402 naming its canonical name', async () => {
    const err = await anthropic().messages.create({ model: 'claude-unknown-1', max_tokens: 20, messages: hello }).catch((e) => e)
    expect(err.status).toBe(402)
    expect(err.message).toContain('mockant:claude-unknown-1')
  })

  test('an allow-list entry written provider:model allows the bare id, and refuses others', async () => {
    const { secret: limited } = await gw.userWithKey({ id: 'bare-limited' }, { allowed_models: ['mockant:claude-opus-4-8'] })
    expect((await anthropic(limited).messages.create({ model: 'claude-opus-4-8', max_tokens: 20, messages: hello })).type).toBe('message')
    const err = await openai(limited).chat.completions.create({ model: 'gpt-5', messages: hello }).catch((e) => e)
    expect(err.status).toBe(403)
  })

  test('a name whose prefix is a configured provider still means that provider', async () => {
    await anthropic().messages.create({ model: 'mock:gpt-5', max_tokens: 20, messages: hello })
    expect(mock.calls[0]!.path).toBe('/v1/chat/completions')
  })

  test('without a default provider for the wire format, a bare id is a 404', async () => {
    const plain = await startTestGateway({ mock, config: { default_providers: { anthropic: 'mockant' } } })
    try {
      const { secret: key } = await plain.userWithKey({ id: 'p' })
      const err = await new OpenAI({ apiKey: key, baseURL: `${plain.url}/v1`, maxRetries: 0 }).chat.completions.create({ model: 'gpt-5', messages: hello }).catch((e) => e)
      expect(err.status).toBe(404)
    } finally {
      await plain.stop()
    }
  })

  test('a default naming an unknown provider is a configuration error naming the field', async () => {
    const parsed = configSchema.safeParse({ master_key: 'test-master-key-0123456789abcdef-0123456789', providers: mockProviders(mock), default_providers: { openai: 'nope' } })
    expect(parsed.success).toBe(false)
    expect(parsed.error!.issues[0]!.path).toEqual(['default_providers', 'openai'])
  })
})

describe('GET /v1/models', () => {
  test("with anthropic-version (the Anthropic SDK) answers in Anthropic's list format", async () => {
    const page = await anthropic().models.list()
    const ids = page.data.map((m) => m.id)
    expect(ids).toContain('mockant:claude-opus-4-8')
    const first = page.data[0]!
    expect(first.type).toBe('model')
    expect(first.display_name).toBe(first.id)
    expect(Number.isNaN(Date.parse(first.created_at))).toBe(false)
  })

  test('without it, in OpenAI\'s', async () => {
    const list = await openai().models.list()
    expect(list.data[0]).toMatchObject({ object: 'model' })
  })
})
