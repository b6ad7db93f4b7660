import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import Anthropic from '@anthropic-ai/sdk'
import OpenAI from 'openai'
import { retryAfterHeaders } from '../src/providers/retry-after'
import { scriptedGateway, type ScriptedUpstream } from './support/scripted-upstream'
import type { TestGateway } from './support/gateway'

setDefaultTimeout(30_000)

/**
 * A provider that is overloaded (Anthropic's 529 `overloaded_error`, a 503) and says when to come back
 * (`Retry-After`) must have that said to the client: the official SDKs retry every 5xx by default and wait what
 * `retry-after-ms` or `Retry-After` says, else ~0.5 s, then ~1 s. Dropped by the gateway, each client calls the
 * overloaded provider again within a second, against its instruction (each retry a fresh hold and provider call).
 */
let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string
let stop: () => Promise<void>
beforeAll(async () => {
  ;({ upstream, gw, secret, stop } = await scriptedGateway('overloaded'))
})
afterAll(() => stop?.())

const providerError = (status: number, error: Record<string, unknown>, headers: Record<string, string>) => () =>
  new Response(JSON.stringify({ type: 'error', error }), { status, headers: { 'content-type': 'application/json', ...headers } })

const overloaded = (status: number, headers: Record<string, string> = { 'retry-after': '3' }) =>
  providerError(status, { type: 'overloaded_error', message: 'Overloaded' }, headers)

const askMessages = () =>
  fetch(`${gw.url}/v1/messages`, {
    method: 'POST',
    headers: { 'x-api-key': secret, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
    body: JSON.stringify({ model: 'ant:m', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }),
  })

const askChat = () =>
  fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'plain:m', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }),
  })

for (const status of [529, 503])
  test(`an upstream ${status} with Retry-After: 3 keeps its Retry-After on /v1/messages and /v1/chat/completions`, async () => {
    upstream.answer(overloaded(status))
    const messages = await askMessages()
    const chat = await askChat()
    expect([messages.status >= 500, messages.headers.get('retry-after')]).toEqual([true, '3'])
    expect([chat.status >= 500, chat.headers.get('retry-after')]).toEqual([true, '3'])
  })

test("an overloaded provider's error keeps Anthropic's type `overloaded_error` for an Anthropic client (Claude Code counts them by it)", async () => {
  upstream.answer(overloaded(529))
  const messages = await askMessages()
  const chat = await askChat()
  expect(((await messages.json()) as any).error.type).toBe('overloaded_error')
  expect(((await chat.json()) as any).error.type).toBe('api_error')
})

test('retry-after-ms, which the SDKs read first, is passed on for a 5xx and a 429 alike', async () => {
  for (const status of [529, 500, 429]) {
    upstream.answer(overloaded(status, { 'retry-after-ms': '2500', 'retry-after': '3' }))
    const answer = await askChat()
    expect([answer.status, answer.headers.get('retry-after-ms'), answer.headers.get('retry-after')]).toEqual([status === 429 ? 429 : 502, '2500', '3'])
  }
})

test('a Retry-After that is not a wait is not passed on, on a 429 either', async () => {
  for (const status of [503, 429]) {
    upstream.answer(overloaded(status, { 'retry-after': 'soon; see https://status.example', 'retry-after-ms': '-5' }))
    const answer = await askChat()
    expect([answer.status, answer.headers.get('retry-after'), answer.headers.get('retry-after-ms')]).toEqual([status === 429 ? 429 : 502, null, null])
  }
})

test("an upstream 429 for an OpenAI account out of credits (`insufficient_quota`) says x-should-retry: false, and the SDK does not retry it", async () => {
  upstream.answer(() =>
    new Response(JSON.stringify({ error: { message: 'You exceeded your current quota.', type: 'insufficient_quota', param: null, code: 'insufficient_quota' } }), {
      status: 429,
      headers: { 'content-type': 'application/json' },
    }),
  )
  upstream.calls.length = 0
  const client = new OpenAI({ apiKey: secret, baseURL: `${gw.url}/v1`, maxRetries: 2 })
  const error = await client.chat.completions.create({ model: 'plain:m', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }).catch((e) => e)
  expect(error).toBeInstanceOf(OpenAI.RateLimitError)
  expect(error.headers.get('x-should-retry')).toBe('false')
  expect(upstream.calls).toHaveLength(1)

  // A plain rate limit may be answered otherwise a moment later.
  upstream.answer(providerError(429, { type: 'rate_limit_error', message: 'slow down' }, { 'retry-after': '1' }))
  expect((await askChat()).headers.get('x-should-retry')).toBe('true')
})

test("@anthropic-ai/sdk (default retries) waits the overloaded provider's Retry-After before calling it again", async () => {
  upstream.answer(overloaded(529))
  upstream.calls.length = 0
  const at: number[] = []
  const client = new Anthropic({
    apiKey: secret,
    baseURL: gw.url,
    maxRetries: 1,
    fetch: Object.assign((input: any, init?: any) => (at.push(Date.now()), fetch(input, init)), { preconnect: fetch.preconnect }),
  })
  const error = await client.messages.create({ model: 'ant:m', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }).catch((e) => e)
  expect(error).toBeInstanceOf(Anthropic.APIError)
  expect(upstream.calls).toHaveLength(2)
  // The provider asked for 3 s; the SDK's own backoff without it is ~0.5 s.
  expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(2500)
})

describe('retryAfterHeaders: only a wait, written by the gateway', () => {
  const now = Date.parse('2025-01-01T00:00:00Z')
  const of = (headers: Record<string, string>) => retryAfterHeaders(new Headers(headers), now)

  test('seconds, rounded up; an HTTP date as the seconds left until it (none left: 0)', () => {
    expect(of({ 'retry-after': '3' })).toEqual({ 'retry-after': '3' })
    expect(of({ 'retry-after': '1.2' })).toEqual({ 'retry-after': '2' })
    expect(of({ 'retry-after': 'Wed, 01 Jan 2025 00:00:30 GMT' })).toEqual({ 'retry-after': '30' })
    expect(of({ 'retry-after': 'Tue, 31 Dec 2024 23:00:00 GMT' })).toEqual({ 'retry-after': '0' })
    expect(of({ 'retry-after-ms': '250.5' })).toEqual({ 'retry-after-ms': '251' })
  })

  test('at most a day', () => {
    expect(of({ 'retry-after': '999999999', 'retry-after-ms': '999999999999' })).toEqual({ 'retry-after': '86400', 'retry-after-ms': '86400000' })
    expect(of({ 'retry-after': 'Fri, 01 Jan 2100 00:00:00 GMT' })).toEqual({ 'retry-after': '86400' })
  })

  test('anything else is dropped', () => {
    for (const value of ['', '-1', '1e3', '0x10', 'Infinity', 'NaN', '3 seconds', '2025-01-01T00:00:30Z', 'Wed, 01 Jan 2025 00:00:30 GMT<script>', 'Wed, 99 Jan 2025 00:00:30 GMT'])
      expect(of({ 'retry-after': value, 'retry-after-ms': value })).toBeUndefined()
  })
})
