import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import Anthropic from '@anthropic-ai/sdk'
import OpenAI from 'openai'
import { badGateway, errorResponse, forbidden, gatewayStopping, gatewayTimeout, GatewayError, internalError, notFound, paidFailure, paymentRequired, payloadTooLarge, rateLimited, unauthorized } from '../src/http/errors'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'

/**
 * The official SDKs (openai, @anthropic-ai/sdk: `shouldRetry`) obey `x-should-retry` before their own rules by
 * status. The gateway says `false` on a refusal the same request gets again (400, 401, 402, 403, 404, 413…),
 * `true` where a retry may be answered otherwise (429, a 503 with Retry-After), and nothing where the SDKs'
 * own rules hold (408, 409, other 5xx).
 */
describe('x-should-retry, where errors become responses', () => {
  const retryOf = (error: GatewayError) => errorResponse(error, 'openai').headers.get('x-should-retry')

  test('false on refusals a retry cannot change', () => {
    for (const error of [
      new GatewayError(400, 'invalid_request', 'x'),
      unauthorized(),
      paymentRequired('budget_exceeded', 'x'),
      forbidden('model_not_allowed', 'x'),
      notFound('x'),
      payloadTooLarge(10),
      new GatewayError(422, 'upstream_rejected', 'x'),
    ])
      expect([error.status, retryOf(error)]).toEqual([error.status, 'false'])
  })

  test('true on a rate limit and on a 503 that says when to come back', () => {
    expect(retryOf(rateLimited(3))).toBe('true')
    expect(retryOf(new GatewayError(429, 'upstream_rate_limited', 'x', 'rate_limit_error'))).toBe('true')
    expect(retryOf(gatewayStopping())).toBe('true')
  })

  test('false, with no Retry-After, on an error whose call was paid', () => {
    for (const error of [paidFailure(badGateway('x')), paidFailure(gatewayTimeout('x')), paidFailure(gatewayStopping())]) {
      const res = errorResponse(error, 'openai')
      expect([error.status, res.headers.get('x-should-retry'), res.headers.get('retry-after')]).toEqual([error.status, 'false', null])
    }
    expect(paidFailure(gatewayStopping()).code).toBe('gateway_stopping')
  })

  test("none where the SDKs' own rules hold", () => {
    for (const error of [new GatewayError(408, 'upstream_rejected', 'x'), new GatewayError(409, 'conflict', 'x'), internalError(), badGateway('x'), new GatewayError(503, 'x', 'x')])
      expect([error.status, retryOf(error)]).toEqual([error.status, null])
  })
})

describe('real SDK clients, through the gateway', () => {
  let mock: MockProvider
  let gw: TestGateway
  let poor: string
  let limited: string
  const sent: string[] = []
  // Counts every attempt the SDK makes.
  const countingFetch: typeof fetch = Object.assign((input: string | URL | Request, init?: RequestInit) => {
    sent.push(String(input instanceof Request ? input.url : input))
    return fetch(input, init)
  }, { preconnect: fetch.preconnect })

  beforeAll(async () => {
    mock = startMockProvider()
    gw = await startTestGateway({
      mock,
      config: { pricing: { 'mock:gpt-mock': { input_per_million: 2, output_per_million: 8 }, 'mockant:claude-mock': { input_per_million: 3, output_per_million: 15 } } },
    })
    poor = (await gw.userWithKey({ id: 'poor', max_budget: 0.000001 })).secret
    limited = (await gw.userWithKey({ id: 'limited', max_budget: 10 }, { rpm_limit: 1 })).secret
  })
  afterAll(async () => {
    await gw.stop()
    await mock.stop()
  })

  test('openai: a 402 is tried once, and says x-should-retry: false', async () => {
    sent.length = 0
    const client = new OpenAI({ apiKey: poor, baseURL: `${gw.url}/v1`, maxRetries: 3, fetch: countingFetch })
    const error = await client.chat.completions.create({ model: 'mock:gpt-mock', max_tokens: 1000, messages: [{ role: 'user', content: 'hi' }] }).catch((e) => e)
    expect(error).toBeInstanceOf(OpenAI.APIError)
    expect(error.status).toBe(402)
    expect(error.headers.get('x-should-retry')).toBe('false')
    expect(sent).toHaveLength(1)
  })

  test('@anthropic-ai/sdk: a 402 is tried once, and says x-should-retry: false', async () => {
    sent.length = 0
    const client = new Anthropic({ apiKey: poor, baseURL: gw.url, maxRetries: 3, fetch: countingFetch })
    const error = await client.messages.create({ model: 'mockant:claude-mock', max_tokens: 1000, messages: [{ role: 'user', content: 'hi' }] }).catch((e) => e)
    expect(error).toBeInstanceOf(Anthropic.APIError)
    expect(error.status).toBe(402)
    expect(error.headers.get('x-should-retry')).toBe('false')
    expect(sent).toHaveLength(1)
  })

  test('a rate limit says x-should-retry: true, with its Retry-After', async () => {
    const client = new OpenAI({ apiKey: limited, baseURL: `${gw.url}/v1`, maxRetries: 0 })
    const ask = () => client.chat.completions.create({ model: 'mock:gpt-mock', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] })
    await ask()
    const error = await ask().catch((e) => e)
    expect(error.status).toBe(429)
    expect(error.headers.get('x-should-retry')).toBe('true')
    expect(Number(error.headers.get('retry-after'))).toBeGreaterThan(0)
  })
})
