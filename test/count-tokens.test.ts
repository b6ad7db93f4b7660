import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test'
import Anthropic from '@anthropic-ai/sdk'
import { encode } from 'gpt-tokenizer/encoding/o200k_base'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'

/**
 * Anthropic's extras: count_tokens (passed through to an Anthropic provider, counted with OpenAI's tokenizer
 * for an OpenAI-type model; free, authenticated, limited to the key's models), errors in Anthropic's shape on
 * every /v1/messages… path, the client's anthropic-version and anthropic-beta passed to an Anthropic
 * provider, and thinking mapped to reasoning_effort when translating.
 */
let mock: MockProvider
let gw: TestGateway
let secret: string
let keyId: string
let client: Anthropic

beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({
    mock,
    config: {
      providers: {
        mock: { type: 'openai', base_url: `${mock.url}/v1`, api_key: 'sk-upstream-secret-0123456789', reasoning_effort: true },
        plain: { type: 'openai', base_url: `${mock.url}/v1`, api_key: 'sk-upstream-secret-0123456789' },
        mockant: { type: 'anthropic', base_url: mock.url, api_key: 'sk-ant-upstream-secret-0123456789' },
      },
      pricing: {
        'mockant:claude-mock': { input_per_million: 1, output_per_million: 2 },
        'mock:gpt-mock': { input_per_million: 1, output_per_million: 2 },
        'plain:gpt-mock': { input_per_million: 1, output_per_million: 2 },
      },
    },
  })
  ;({ secret, keyId } = await gw.userWithKey({ id: 'counter', max_budget: 1 }))
  client = new Anthropic({ apiKey: secret, baseURL: gw.url, maxRetries: 0 })
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})
beforeEach(() => mock.reset())

const messages = [{ role: 'user' as const, content: 'How many tokens is this sentence, counted by the right tokenizer?' }]

describe('POST /v1/messages/count_tokens', () => {
  test('an Anthropic model: passed through with the client\'s beta flags, answered as the provider counted', async () => {
    const counted = await client.messages.countTokens(
      { model: 'mockant:claude-mock', system: 'Be brief.', messages },
      { headers: { 'anthropic-beta': 'token-counting-2024-11-01' } },
    )
    expect(counted.input_tokens).toBe(Math.ceil((Buffer.byteLength(messages[0]!.content) + Buffer.byteLength('Be brief.')) / 4) + 3)
    const call = mock.calls[0]!
    expect(call.path).toBe('/v1/messages/count_tokens')
    expect((call.body as any).model).toBe('claude-mock')
    expect(call.headers['anthropic-beta']).toBe('token-counting-2024-11-01')
    expect(call.headers['x-api-key']).toBe('sk-ant-upstream-secret-0123456789')
  })

  test("an OpenAI-type model: counted by the gateway with OpenAI's tokenizer, nothing sent upstream", async () => {
    const counted = await client.messages.countTokens({ model: 'mock:gpt-mock', system: 'Be brief.', messages })
    // reply priming 3; per message 3 + its role + its content
    const expected = 3 + (3 + encode('system').length + encode('Be brief.').length) + (3 + encode('user').length + encode(messages[0]!.content).length)
    expect(counted.input_tokens).toBe(expected)
    expect(mock.calls.length).toBe(0)
  })

  test("a special token's name in the text is counted as text, as OpenAI's API reads it, not refused with a 500", async () => {
    const content = 'The documents are separated by <|endoftext|> and <|fim_prefix|> markers.'
    const counted = await client.messages.countTokens({ model: 'mock:gpt-mock', messages: [{ role: 'user', content }] })
    const asText = encode(content, { disallowedSpecial: new Set() }).length
    expect(counted.input_tokens).toBe(3 + (3 + encode('user').length + asText))
  })

  test('free: no hold, no usage row, no spend', async () => {
    await client.messages.countTokens({ model: 'mockant:claude-mock', messages })
    await gw.settled()
    expect(gw.query('SELECT COUNT(*) AS n FROM usage WHERE key_id = ?', keyId)[0].n).toBe(0)
    expect((await gw.admin('GET', '/v1/users/counter')).body).toMatchObject({ spend: 0, reserved: 0 })
  })

  test("a model the key may not call is a 403, in Anthropic's shape", async () => {
    const { secret: limited } = await gw.userWithKey({ id: 'counter-limited' }, { allowed_models: ['mock:gpt-mock'] })
    const err = await new Anthropic({ apiKey: limited, baseURL: gw.url, maxRetries: 0 }).messages
      .countTokens({ model: 'mockant:claude-mock', messages })
      .catch((e) => e)
    expect(err).toBeInstanceOf(Anthropic.PermissionDeniedError)
    expect(err.error).toMatchObject({ type: 'error', error: { type: 'permission_error' } })
    expect(mock.calls.length).toBe(0)
  })

  test('a bad key is a 401 and an unknown model a 404, both in Anthropic\'s shape', async () => {
    const bad = await new Anthropic({ apiKey: 'tg-nope', baseURL: gw.url, maxRetries: 0 }).messages.countTokens({ model: 'mockant:claude-mock', messages }).catch((e) => e)
    expect(bad).toBeInstanceOf(Anthropic.AuthenticationError)
    expect(bad.error).toMatchObject({ type: 'error', error: { type: 'authentication_error' } })
    const unknown = await client.messages.countTokens({ model: 'nowhere:model', messages }).catch((e) => e)
    expect(unknown).toBeInstanceOf(Anthropic.NotFoundError)
    expect(unknown.error).toMatchObject({ type: 'error', error: { type: 'not_found_error' } })
  })
})

describe("every /v1/messages… path answers errors in Anthropic's shape", () => {
  test('an unknown path under /v1/messages is a 404 in that shape', async () => {
    const res = await fetch(`${gw.url}/v1/messages/nope`, { method: 'POST', headers: { 'x-api-key': secret, 'content-type': 'application/json' }, body: '{}' })
    expect(res.status).toBe(404)
    expect(await res.json()).toEqual({ type: 'error', error: { type: 'not_found_error', message: expect.any(String) } })
  })

  test('a missing key on /v1/messages/count_tokens is a 401 in that shape', async () => {
    const res = await fetch(`${gw.url}/v1/messages/count_tokens`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
    expect(res.status).toBe(401)
    expect(((await res.json()) as any).error.type).toBe('authentication_error')
  })

  test("Claude Code's POST /v1/messages?beta=true is served like /v1/messages", async () => {
    const message = await client.beta.messages.create({ model: 'mockant:claude-mock', max_tokens: 20, messages, betas: ['interleaved-thinking-2025-05-14'] })
    expect(message.type).toBe('message')
    expect(mock.calls[0]!.path).toBe('/v1/messages')
    expect(mock.calls[0]!.headers['anthropic-beta']).toBe('interleaved-thinking-2025-05-14')
  })
})

describe('headers and thinking on /v1/messages', () => {
  test("the client's anthropic-version reaches an Anthropic provider", async () => {
    const res = await fetch(`${gw.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': secret, 'content-type': 'application/json', 'anthropic-version': '2099-01-01' },
      body: JSON.stringify({ model: 'mockant:claude-mock', max_tokens: 20, messages }),
    })
    expect(res.status).toBe(200)
    expect(mock.calls[0]!.headers['anthropic-version']).toBe('2099-01-01')
  })

  test('translated to an OpenAI-type model that takes reasoning_effort: thinking maps to it, betas and Claude Code\'s extra fields do not go', async () => {
    await client.beta.messages.create({
      model: 'mock:gpt-mock', max_tokens: 20_000, messages, betas: ['context-management-2025-06-27'],
      thinking: { type: 'enabled', budget_tokens: 18_000 },
      context_management: { edits: [{ type: 'clear_tool_uses_20250919' }] },
    } as any)
    const call = mock.calls[0]!
    expect(call.path).toBe('/v1/chat/completions')
    expect((call.body as any).reasoning_effort).toBe('high')
    expect(call.headers['anthropic-beta']).toBeUndefined()
    expect((call.body as any).context_management).toBeUndefined()
    expect((call.body as any).thinking).toBeUndefined()
  })

  test('output_config.effort wins over the thinking budget', async () => {
    await client.messages.create({ model: 'mock:gpt-mock', max_tokens: 20, messages, thinking: { type: 'enabled', budget_tokens: 16_000 }, output_config: { effort: 'low' } } as any)
    expect((mock.calls[0]!.body as any).reasoning_effort).toBe('low')
  })

  test('a provider without reasoning_effort: thinking is dropped, the request served', async () => {
    const message = await client.messages.create({ model: 'plain:gpt-mock', max_tokens: 2000, messages, thinking: { type: 'enabled', budget_tokens: 1024 } })
    expect(message.type).toBe('message')
    expect((mock.calls[0]!.body as any).reasoning_effort).toBeUndefined()
  })
})

describe('/docs', () => {
  test('shows count_tokens from the schema that validates it', async () => {
    const doc = (await (await fetch(`${gw.url}/docs/json`)).json()) as any
    const op = doc.paths['/v1/messages/count_tokens']?.post
    expect(op).toBeDefined()
    const schema = op.requestBody.content['application/json'].schema
    expect(schema.required).toEqual(expect.arrayContaining(['model', 'messages']))
    expect(schema.required).not.toContain('max_tokens')
  })
})
