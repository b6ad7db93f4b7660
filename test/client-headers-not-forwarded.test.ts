import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'

/**
 * What crosses to an Anthropic provider on the two routes that pass client headers on (/v1/messages natively and
 * /v1/messages/count_tokens): the provider's own x-api-key, the client's anthropic-version and anthropic-beta, and
 * nothing else of the client's. A client that authenticates with `x-api-key` (curl, the Anthropic SDK, Claude Code),
 * sends a cookie, or sits behind a proxy's Basic auth must never have any of that reach the provider, nor replace
 * the provider's credential (SPEC: the gateway calls with its own credential).
 */
let mock: MockProvider
let gw: TestGateway
let secret: string
const PROVIDER_KEY = 'sk-ant-upstream-secret-0123456789'

/** Header names fetch itself adds, and those the gateway documents as sent to an Anthropic provider. */
const ALLOWED = new Set(['host', 'accept', 'accept-encoding', 'connection', 'content-length', 'content-type', 'user-agent', 'x-api-key', 'anthropic-version', 'anthropic-beta'])

beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock, config: { pricing: { 'mockant:claude-mock': { input_per_million: 1, output_per_million: 2 } } } })
  secret = (await gw.userWithKey({ id: 'headers', max_budget: 10 })).secret
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})
beforeEach(() => mock.reset())

const clientHeaders = () => ({
  'content-type': 'application/json',
  'x-api-key': secret,
  'anthropic-version': '2023-06-01',
  'anthropic-beta': 'token-counting-2024-11-01',
  // A reverse proxy's Basic auth in front of the gateway (README: x-api-key is read beside it), and a browser's cookie.
  authorization: 'Basic cHJveHktdXNlcjpwcm94eS1wYXNzd29yZC0wMTIzNDU2Nzg5',
  cookie: 'tollgate_session=client-session-cookie-0123456789',
  'x-client-private': 'client-private-value-0123456789',
  'openai-organization': 'org-client-0123456789',
})

function expectOnlyProviderCredential(headers: Record<string, string>) {
  expect(headers['x-api-key']).toBe(PROVIDER_KEY)
  expect(headers.authorization).toBeUndefined()
  expect(headers.cookie).toBeUndefined()
  const sent = JSON.stringify(headers)
  expect(sent).not.toContain(secret)
  expect(sent).not.toContain('client-session-cookie')
  expect(sent).not.toContain('cHJveHktdXNlcjpwcm94eS1wYXNzd29yZC0wMTIzNDU2Nzg5')
  expect(Object.keys(headers).filter((name) => !ALLOWED.has(name.toLowerCase()))).toEqual([])
  expect(headers['anthropic-version']).toBe('2023-06-01')
  expect(headers['anthropic-beta']).toBe('token-counting-2024-11-01')
}

describe('client credentials and headers are never forwarded to an Anthropic provider', () => {
  test('POST /v1/messages (native, JSON)', async () => {
    const res = await fetch(`${gw.url}/v1/messages`, {
      method: 'POST',
      headers: clientHeaders(),
      body: JSON.stringify({ model: 'mockant:claude-mock', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] }),
    })
    expect(res.status).toBe(200)
    await res.text()
    expect(mock.calls.length).toBe(1)
    expectOnlyProviderCredential(mock.calls[0]!.headers)
  })

  test('POST /v1/messages/count_tokens (free pass-through)', async () => {
    const res = await fetch(`${gw.url}/v1/messages/count_tokens`, {
      method: 'POST',
      headers: clientHeaders(),
      body: JSON.stringify({ model: 'mockant:claude-mock', messages: [{ role: 'user', content: 'hi' }] }),
    })
    expect(res.status).toBe(200)
    await res.text()
    expect(mock.calls.length).toBe(1)
    expectOnlyProviderCredential(mock.calls[0]!.headers)
  })
})
