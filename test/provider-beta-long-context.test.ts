import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test'
import type { ProviderConfig } from '../src/config/schema'
import { anthropicBetaSent, authHeaders, headersSent } from '../src/providers/upstream'
import { startTestGateway, type TestGateway } from './support/gateway'
import { settledRow } from './support/settled-row'

/**
 * Billed features are read from the `anthropic-beta` flags the provider receives, not the client's alone.
 * An operator who gives every team Anthropic's 1M-token window configures it once, on the provider:
 * `headers: {anthropic-beta: context-1m-2025-08-07}`. The configured headers replace the client's (by name,
 * in any case) and go on every call, translated ones included, so a prompt past 200K tokens is billed at
 * the long-context rates (2× input here) on /v1/messages, chat and Responses translated to that provider;
 * and a model priced without a `long_context` rate is refused 402 pricing_required, as it is to a client
 * sending the flag itself. A configured flag list without the 1M flag replaces a client's that had it.
 */

const LONG = [{ role: 'user', content: 'x'.repeat(250_000) }]
const USER = 'rc-beta'
const FLAG_1M = 'context-1m-2025-08-07'

let upstream: ReturnType<typeof Bun.serve>
const calls: Array<{ path: string; beta: string | null }> = []
let gw: TestGateway
let secret: string

beforeAll(async () => {
  upstream = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    async fetch(req) {
      calls.push({ path: new URL(req.url).pathname, beta: req.headers.get('anthropic-beta') })
      const body = (await req.json()) as { model: string }
      return Response.json({
        id: 'msg_1', type: 'message', role: 'assistant', model: body.model, content: [{ type: 'text', text: 'ok' }],
        stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: 210_000, output_tokens: 10 },
      })
    },
  })
  const provider = (headers: Record<string, string>) => ({
    type: 'anthropic', base_url: `http://127.0.0.1:${upstream.port}`, api_key: 'sk-ant-beta-upstream-0123456789', headers,
  })
  gw = await startTestGateway({
    config: {
      providers: {
        ant1m: provider({ 'anthropic-beta': FLAG_1M }),
        antcase: provider({ 'Anthropic-Beta': FLAG_1M }),
        antother: provider({ 'anthropic-beta': 'interleaved-thinking-2025-05-14' }),
      },
      pricing: {
        'ant1m:m': { input_per_million: 1, output_per_million: 2, service_tiers: { long_context: 2 } },
        'ant1m:bare': { input_per_million: 1, output_per_million: 2 },
        'antcase:m': { input_per_million: 1, output_per_million: 2, service_tiers: { long_context: 2 } },
        'antother:m': { input_per_million: 1, output_per_million: 2, service_tiers: { long_context: 2 } },
      },
    },
  })
  secret = (await gw.userWithKey({ id: USER, max_budget: 100 })).secret
})
afterAll(async () => {
  await gw.stop()
  await upstream.stop(true)
})
beforeEach(() => {
  calls.length = 0
})

const post = (path: string, body: Record<string, unknown>, headers: Record<string, string> = {}) =>
  fetch(gw.url + path, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  })

async function settled(path: string, body: Record<string, unknown>, headers?: Record<string, string>) {
  return settledRow(gw, USER, async () => {
    const res = await post(path, body, headers)
    await res.arrayBuffer()
    expect(res.status).toBe(200)
  })
}

const LONG_RATE = 2 * (210_000 + 20)
const PLAIN_RATE = 210_000 + 20

test('messages: a 210K-token prompt sent with the provider\'s context-1m flag is billed at the long_context rate', async () => {
  const row = await settled('/v1/messages', { model: 'ant1m:m', max_tokens: 50, messages: LONG })
  expect(calls).toEqual([{ path: '/v1/messages', beta: FLAG_1M }])
  expect(row.cost).toBe(LONG_RATE)
})

test('chat translated to that provider: the same prompt, the same long_context rate', async () => {
  const row = await settled('/v1/chat/completions', { model: 'ant1m:m', max_tokens: 50, messages: LONG })
  expect(calls).toEqual([{ path: '/v1/messages', beta: FLAG_1M }])
  expect(row.cost).toBe(LONG_RATE)
})

test('Responses translated to that provider: the same prompt, the same long_context rate', async () => {
  const row = await settled('/v1/responses', { model: 'ant1m:m', max_output_tokens: 50, input: LONG[0]!.content })
  expect(calls).toEqual([{ path: '/v1/messages', beta: FLAG_1M }])
  expect(row.cost).toBe(LONG_RATE)
})

test('a model priced without a long_context rate: a prompt past 200K tokens is 402 pricing_required, nothing sent', async () => {
  for (const [path, body] of [
    ['/v1/messages', { model: 'ant1m:bare', max_tokens: 50, messages: LONG }],
    ['/v1/chat/completions', { model: 'ant1m:bare', max_tokens: 50, messages: LONG }],
    ['/v1/responses', { model: 'ant1m:bare', max_output_tokens: 50, input: LONG[0]!.content }],
  ] as const) {
    const res = await post(path, body)
    const text = await res.text()
    expect({ path, status: res.status }).toEqual({ path, status: 402 })
    expect(text).toMatch(/long context/)
  }
  expect(calls).toHaveLength(0)
})

test('a configured Anthropic-Beta replaces the client\'s anthropic-beta whatever its case, and is what is billed', async () => {
  const row = await settled('/v1/messages', { model: 'antcase:m', max_tokens: 50, messages: LONG }, { 'anthropic-beta': 'token-efficient-tools-2025-02-19' })
  expect(calls).toEqual([{ path: '/v1/messages', beta: FLAG_1M }])
  expect(row.cost).toBe(LONG_RATE)
})

test('a configured anthropic-beta without the 1M flag replaces a client\'s that had it: billed at the plain rates', async () => {
  const row = await settled('/v1/messages', { model: 'antother:m', max_tokens: 50, messages: LONG }, { 'anthropic-beta': FLAG_1M })
  expect(calls).toEqual([{ path: '/v1/messages', beta: 'interleaved-thinking-2025-05-14' }])
  expect(row.cost).toBe(PLAIN_RATE)
})

describe('the headers sent: the configured ones replace those passed on, by name in any case', () => {
  const configured = (headers: Record<string, string>): ProviderConfig =>
    ({ type: 'anthropic', base_url: 'http://127.0.0.1:1', api_key: 'k', headers }) as ProviderConfig
  test('one value a name, the configured one', () => {
    const p = configured({ 'Anthropic-Beta': FLAG_1M })
    expect(headersSent(p, { 'anthropic-beta': 'a', 'anthropic-version': '2024-01-01' })).toEqual({ 'anthropic-version': '2024-01-01', 'Anthropic-Beta': FLAG_1M })
    expect(anthropicBetaSent(p, { 'anthropic-beta': 'a' })).toBe(FLAG_1M)
    expect(anthropicBetaSent(configured({}), { 'anthropic-beta': 'a' })).toBe('a')
    expect(anthropicBetaSent(configured({}))).toBe('')
  })
  test('the credentials\' defaults too: a configured Anthropic-Version is the only version sent', () => {
    expect(authHeaders(configured({ 'Anthropic-Version': '2024-01-01' }))).toEqual({ 'accept-encoding': 'identity', 'x-api-key': 'k', 'Anthropic-Version': '2024-01-01' })
  })
})
