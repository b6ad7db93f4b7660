/**
 * SPEC §3: provider error text is summarised, "never forwarded with credentials". A credential can sit
 * in a provider's configured `headers` (Azure's `api-key`, a proxy's token) as well as in `api_key`.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { ProviderConfig } from '../src/config/schema'
import { secretsOf, summariseUpstreamError } from '../src/providers/upstream'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { mockProviders, startTestGateway, type TestGateway } from './support/gateway'

const HEADER_SECRET = 'azure-key-4f9c2d7e1b8a'
const TOKEN = 'c2VjcmV0LXByb3h5LXRva2Vu'

const provider = (headers: Record<string, string>, api_key = ''): ProviderConfig => ({
  type: 'openai', base_url: 'https://example.invalid/v1', api_key, headers,
})
const failing = (message: string) => new Response(JSON.stringify({ error: { message } }), { status: 400 })

describe('redacting an upstream error summary', () => {
  test('a configured header value is cut out, whole or as the token of "Bearer <token>" / "Basic <token>"', async () => {
    const p = provider({ 'api-key': HEADER_SECRET, 'proxy-authorization': `Basic ${TOKEN}` })
    const summary = await summariseUpstreamError(failing(`key ${HEADER_SECRET} is not valid; proxy saw ${TOKEN}`), p)
    expect(summary).not.toContain(HEADER_SECRET)
    expect(summary).not.toContain(TOKEN)
    expect(summary).toBe('Upstream provider answered 400: key [redacted] is not valid; proxy saw [redacted]')
  })

  test('values under 8 characters ("1", "true", "beta") are left alone, so the text stays readable', async () => {
    const p = provider({ 'x-flag': '1', 'x-enabled': 'true', 'x-tier': 'beta' })
    expect(secretsOf(p)).toEqual([])
    const summary = await summariseUpstreamError(failing('field 1 is true only in beta'), p)
    expect(summary).toBe('Upstream provider answered 400: field 1 is true only in beta')
  })

  test('a key quoted masked is cut with the characters it shows, whatever the provider\'s mask', async () => {
    const p = provider({})
    for (const masked of ['sk-Qw3rT****************************9xZq', 'sk-proj-****abcd', '****abcd', 'xa***0y'])
      expect(await summariseUpstreamError(failing(`Incorrect API key provided: ${masked}. Check it.`), p)).toBe(
        'Upstream provider answered 400: Incorrect API key provided: [redacted]. Check it.',
      )
  })

  test('a secret that contains another is cut whole, not left half visible', () => {
    expect(secretsOf(provider({ a: 'abcdefgh', b: 'abcdefgh-ijklmnop' }))).toEqual(['abcdefgh-ijklmnop', 'abcdefgh'])
  })
})

describe('end to end: a provider that echoes a configured header in its error', () => {
  let mock: MockProvider
  let gw: TestGateway
  let key: string

  beforeAll(async () => {
    mock = startMockProvider()
    // The mock answers an unknown x-mock-behavior with a 400 that quotes the header's value.
    gw = await startTestGateway({
      mock,
      config: {
        providers: { ...mockProviders(mock), azure: { ...mockProviders(mock).mock, headers: { 'x-mock-behavior': HEADER_SECRET } } },
        pricing: { 'azure:gpt-mock': { input_per_million: 1, output_per_million: 2 } },
      },
    })
    key = (await gw.userWithKey({ id: 'team-redact', max_budget: 1 })).secret
  })
  afterAll(async () => {
    await gw?.stop()
    await mock?.stop()
  })

  test('the client is told the provider refused, without the header value', async () => {
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'azure:gpt-mock', messages: [{ role: 'user', content: 'hi' }] }),
    })
    const text = await res.text()
    expect(mock.calls.at(-1)?.headers['x-mock-behavior']).toBe(HEADER_SECRET)
    expect(res.status).toBe(400)
    expect(JSON.parse(text).error.message).toBe('Upstream provider answered 400: Unknown x-mock-behavior: [redacted]')
    expect(text).not.toContain(HEADER_SECRET)
  })
})
