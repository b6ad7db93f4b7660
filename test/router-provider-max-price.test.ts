/**
 * OpenRouter bills each request at the rates of the host that served it, and a request may choose that host:
 * `provider: {sort: "throughput"}` (exactly what the `:nitro` variant does), `provider.order`/`only` naming a dearer
 * host. The gateway prices `plain:model:nitro` as a model of its own (its canonical name keeps the suffix), but
 * before the fix read nothing of `provider`, so the same routing asked for by the body was held and billed at the
 * base row — typically the cheapest host's price (OpenRouter's default routing favours price; the catalog lists
 * it): 12,800 µ$ where the book's own :nitro row says 99,000. Now OpenRouter's `provider.max_price` is sent at the
 * row's rates, so whatever host serves is billed at most what the gateway bills.
 * Rows: the base model at $0.10/$0.28 per million (its floor host), the :nitro variant at $0.90/$0.90.
 */
import { afterAll, beforeAll, beforeEach, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { jsonResponse, scriptedProviders, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'

let upstream: ScriptedUpstream
let gw: TestGateway

const MODEL = 'meta-llama/llama-3.1-70b-instruct'
const BASE = `plain:${MODEL}`

beforeAll(async () => {
  upstream = startScriptedUpstream()
  gw = await startTestGateway({
    config: {
      providers: {
        ...scriptedProviders(upstream),
        // The same server, named by the operator as OpenRouter: its default routing is bounded too.
        openrouter: { type: 'openai', base_url: `${upstream.url}/v1`, api_key: 'sk-or-scripted-secret-0123456789', catalog: 'openrouter' },
      },
      pricing: {
        [BASE]: { input_per_million: 0.1, output_per_million: 0.28 },
        [`${BASE}:nitro`]: { input_per_million: 0.9, output_per_million: 0.9 },
        [`openrouter:${MODEL}`]: { input_per_million: 0.1, output_per_million: 0.28, per_request: 0.005 },
        'openrouter:free/model': { input_per_million: 0, output_per_million: 0 },
        'ant:anthropic/claude-sonnet-4.5': { input_per_million: 3, output_per_million: 15 },
      },
    },
  })
})
afterAll(async () => {
  await gw.stop()
  await upstream.stop()
})
beforeEach(() => {
  upstream.calls.length = 0
  upstream.answer(({ body }) =>
    jsonResponse({
      id: 'gen-1', object: 'chat.completion', created: 1, model: body.model, provider: 'FastHost',
      choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 100_000, completion_tokens: 10_000, total_tokens: 110_000 },
    }),
  )
})

async function chat(user: string, fields: Record<string, unknown>) {
  const { secret } = await gw.userWithKey({ id: user, max_budget: 10 })
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: BASE, max_tokens: 10_000, messages: [{ role: 'user', content: 'hello' }], ...fields }),
  })
  const text = await res.text()
  await gw.settled()
  const cost = gw.query<{ cost: number }>('SELECT cost FROM usage WHERE user_id = ? ORDER BY id DESC LIMIT 1', user)[0]?.cost ?? null
  const sent = upstream.calls[0]?.body as Record<string, any> | undefined
  return { status: res.status, text, cost, sent }
}

test('provider.sort "throughput" (the :nitro routing) is not billed at the base row unbounded', async () => {
  const { status, cost, sent } = await chat('provider-sort', { provider: { sort: 'throughput', allow_fallbacks: false } })
  const routing = sent?.provider as ({ max_price?: { prompt?: number; completion?: number; request?: number } } & Record<string, unknown>) | undefined
  // Before: 200, sent on as asked (no max_price), cost 12,800 µ$ at the base row; the same routing as
  // `${BASE}:nitro` is priced 99,000 µ$ by the book.
  const bounded = routing?.max_price !== undefined && (routing.max_price.prompt ?? Infinity) <= 0.1 && (routing.max_price.completion ?? Infinity) <= 0.28
  const refused = [400, 402].includes(status) && upstream.calls.length === 0
  expect({ status, cost, sentProvider: routing ?? null, refusedOrBoundedToRow: refused || bounded }).toMatchObject({ refusedOrBoundedToRow: true })
  // Bounded at exactly the row's rates (USD per million), the client's routing kept, and billed at the row.
  expect({ status, cost, routing }).toEqual({
    status: 200, cost: 12_800, routing: { sort: 'throughput', allow_fallbacks: false, max_price: { prompt: 0.1, completion: 0.28, request: 0 } },
  })
})

test('the client\'s own max_price: a lower bound is kept as written, a higher one lowered to the row, the rest kept', async () => {
  const { status, sent } = await chat('provider-own-max', { provider: { order: ['DearHost'], max_price: { prompt: '0.05', completion: 5, image: 0.01 } } })
  expect(status).toBe(200)
  expect(sent?.provider).toEqual({ order: ['DearHost'], max_price: { prompt: '0.05', completion: 0.28, image: 0.01, request: 0 } })
})

test('the :nitro row is bounded at its own rates', async () => {
  const { sent } = await chat('provider-nitro', { model: `${BASE}:nitro`, provider: { sort: 'throughput' } })
  expect(sent?.provider).toEqual({ sort: 'throughput', max_price: { prompt: 0.9, completion: 0.9, request: 0 } })
})

test('a host\'s per-request fee is bounded at 0 where the row has no per-request price, whatever the client asked', async () => {
  // Before: the client's own request bound (5 USD a request) was sent on, so OpenRouter could pick a host charging a
  // per-request fee the row does not bill.
  const { status, sent } = await chat('provider-request-fee', { provider: { max_price: { request: 5 } } })
  expect(status).toBe(200)
  expect(sent?.provider).toEqual({ max_price: { request: 0, prompt: 0.1, completion: 0.28 } })
})

test('no routing asked for: nothing added for a provider not named OpenRouter; OpenRouter\'s default routing is bounded, a per-request price too', async () => {
  expect((await chat('provider-none', {})).sent).not.toHaveProperty('provider')
  upstream.calls.length = 0
  const { status, sent } = await chat('provider-default', { model: `openrouter:${MODEL}` })
  expect(status).toBe(200)
  expect(sent?.provider).toEqual({ max_price: { prompt: 0.1, completion: 0.28, request: 0.005 } })
})

test('a row that serves the model free is sent as it came (bounded at 0, OpenRouter would serve only free hosts)', async () => {
  const { status, sent } = await chat('provider-free', { model: 'openrouter:free/model' })
  expect(status).toBe(200)
  expect(sent).not.toHaveProperty('provider')
})

test('routing that could not take a bound (not an object) is refused 400 before any hold or call', async () => {
  for (const [user, provider] of [['provider-string', 'DearHost'], ['provider-max-list', { max_price: [1] }]] as const) {
    const { status, text } = await chat(user, { provider })
    expect({ user, status, calls: upstream.calls.length }).toEqual({ user, status: 400, calls: 0 })
    expect(JSON.parse(text).error.message).toContain('must be an object')
    expect((await gw.admin('GET', `/v1/users/${user}`)).body).toMatchObject({ spend: 0, reserved: 0 })
  }
})

test('on /v1/messages to OpenRouter\'s Anthropic-compatible endpoint too', async () => {
  const { secret } = await gw.userWithKey({ id: 'provider-messages', max_budget: 10 })
  upstream.answer(({ body }) =>
    jsonResponse({
      id: 'msg_1', type: 'message', role: 'assistant', model: body.model, content: [{ type: 'text', text: 'hi' }],
      stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: 10, output_tokens: 5 },
    }),
  )
  const res = await fetch(`${gw.url}/v1/messages`, {
    method: 'POST',
    headers: { 'x-api-key': secret, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
    body: JSON.stringify({ model: 'ant:anthropic/claude-sonnet-4.5', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }], provider: { only: ['amazon-bedrock'] } }),
  })
  expect(res.status).toBe(200)
  await res.text()
  expect(upstream.calls[0]?.body.provider).toEqual({ only: ['amazon-bedrock'], max_price: { prompt: 3, completion: 15, request: 0 } })
})
