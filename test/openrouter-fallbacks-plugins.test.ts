/**
 * Fields of an OpenAI-compatible router (OpenRouter, a LiteLLM proxy: `openai`-type providers the SPEC names)
 * that make it serve, and bill, another model or a feature beyond tokens:
 *
 * - Model fallbacks: OpenRouter's `models` (any error of the primary, a context-length error a client can always
 *   cause included, falls back to the next model, and "requests are priced using the model that was ultimately
 *   used": https://openrouter.ai/docs/guides/routing/model-fallbacks) with `route: "fallback"`, and a LiteLLM
 *   proxy's `fallbacks`. Refused 400 `feature_unsupported` before any hold unless the list names only the
 *   requested model, on chat and native Responses; the translated routes build bodies without them.
 * - OpenRouter's plugins: `web` (and a model named `…:online`), billed $4 per 1,000 results, 5 by default
 *   (https://openrouter.ai/docs/features/web-search): held and settled as `max_results` uses of the row's
 *   `server_tools.web_search` (no usage counts them), 402 where that is not priced. `file-parser` with a PDF
 *   engine billed by tokens and `response-healing` pass; `mistral-ocr` (per page), a file parser without an
 *   engine (OpenRouter then may use mistral-ocr) and any other plugin are refused 400.
 *
 * Rates: $1/M input, $2/M output (a token is 1 or 2 µ$); `plain:web` prices a web search result at $0.004.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { jsonResponse, scriptedProviders, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'

let upstream: ScriptedUpstream
let gw: TestGateway

const RATES = { input_per_million: 1, output_per_million: 2 }
const WEB = { ...RATES, server_tools: { web_search: 0.004 } }
const RESULT_MICROS = 4000

beforeAll(async () => {
  upstream = startScriptedUpstream()
  const providers = scriptedProviders(upstream)
  gw = await startTestGateway({
    config: {
      providers: { ...providers, viachat: { ...providers.plain, responses: 'chat' as const } },
      // `dear` is not priced; `plain:m` has no web search price; `plain:web` and `plain:web:online` do.
      pricing: { 'plain:m': RATES, 'plain:m:online': RATES, 'plain:web': WEB, 'plain:web:online': WEB, 'viachat:m': RATES },
      cap_output_tokens: true,
      default_max_output_tokens: 64,
    },
  })
})
afterAll(async () => {
  await gw?.stop()
  await upstream?.stop()
})
beforeEach(() => {
  upstream.calls.length = 0
  upstream.answer(({ body }) => completion(body))
})

/** OpenRouter's answer once a fallback fired: the next model in `models` answered, and is billed. */
const completion = (body: Record<string, any>) =>
  jsonResponse({
    id: 'gen-1',
    object: 'chat.completion',
    model: Array.isArray(body.models) ? body.models[0] : body.model,
    choices: [{ index: 0, message: { role: 'assistant', content: 'an answer' }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 20, completion_tokens: 16, total_tokens: 36 },
  })

const responseObject = (body: Record<string, any>) =>
  jsonResponse({
    id: 'resp_1', object: 'response', status: 'completed', model: body.model,
    output: [{ type: 'message', id: 'msg_1', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'an answer', annotations: [] }] }],
    usage: { input_tokens: 20, input_tokens_details: { cached_tokens: 0 }, output_tokens: 16, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 36 },
  })

const post = (path: string, secret: string, body: Record<string, unknown>) =>
  fetch(`${gw.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
    body: JSON.stringify(body),
  })

const chat = (secret: string, extra: Record<string, unknown>) =>
  post('/v1/chat/completions', secret, { model: 'plain:m', messages: [{ role: 'user', content: 'hi' }], max_tokens: 16, ...extra })

const refusal = async (res: Response) => ({ status: res.status, code: ((await res.json()) as any).error?.code, upstreamCalls: upstream.calls.length })

const lastUsage = async (user: string) => {
  await gw.settled()
  return gw.query<{ cost: number; reserved: number }>('SELECT cost, reserved FROM usage WHERE user_id = ? ORDER BY id DESC LIMIT 1', user)[0]!
}

/** 20 input and 16 output tokens at 1 and 2 µ$. */
const TOKENS_MICROS = 20 + 16 * 2

describe('model fallbacks (`models`, `route: "fallback"`, LiteLLM `fallbacks`) on an OpenAI-compatible provider', () => {
  test('a `models` list naming a model the price book cannot price is refused before any provider call', async () => {
    const { secret } = await gw.userWithKey({ id: 'or-models', max_budget: 10 })
    const res = await chat(secret, { models: ['dear'] })
    // Before the fix: 200, the provider got `models: ["dear"]`, and the answer of `dear` was billed as `plain:m`.
    expect(await refusal(res)).toEqual({ status: 400, code: 'feature_unsupported', upstreamCalls: 0 })
  })

  test('route "fallback" without a models list, and LiteLLM fallbacks to another model (or with their own messages), are refused', async () => {
    const { secret } = await gw.userWithKey({ id: 'or-route', max_budget: 10 })
    expect(await refusal(await chat(secret, { route: 'fallback' }))).toEqual({ status: 400, code: 'feature_unsupported', upstreamCalls: 0 })
    expect(await refusal(await chat(secret, { route: 'fallback', models: ['m', 'dear'] }))).toEqual({ status: 400, code: 'feature_unsupported', upstreamCalls: 0 })
    expect(await refusal(await chat(secret, { fallbacks: ['dear'] }))).toEqual({ status: 400, code: 'feature_unsupported', upstreamCalls: 0 })
    expect(await refusal(await chat(secret, { fallbacks: [{ model: 'm', messages: [{ role: 'user', content: 'x'.repeat(100_000) }] }] }))).toEqual({
      status: 400, code: 'feature_unsupported', upstreamCalls: 0,
    })
    expect(await refusal(await chat(secret, { fallbacks: [{ 'gpt-4': ['dear'] }] }))).toEqual({ status: 400, code: 'feature_unsupported', upstreamCalls: 0 })
  })

  test('a list that names only the requested model is served as sent', async () => {
    const { secret } = await gw.userWithKey({ id: 'or-self', max_budget: 10 })
    const res = await chat(secret, { models: ['m'], route: 'fallback', fallbacks: ['m', { model: 'm' }] })
    expect(res.status).toBe(200)
    await res.text()
    expect(upstream.calls.map((c) => [c.body.models, c.body.fallbacks])).toEqual([[['m'], ['m', { model: 'm' }]]])
  })

  test('native Responses: a `models` list naming another model is refused before any provider call', async () => {
    const { secret } = await gw.userWithKey({ id: 'or-responses-models', max_budget: 10 })
    const res = await post('/v1/responses', secret, { model: 'plain:m', input: 'hi', max_output_tokens: 16, store: false, models: ['dear'] })
    expect(await refusal(res)).toEqual({ status: 400, code: 'feature_unsupported', upstreamCalls: 0 })
  })

  test('the translated routes (Messages → chat, Responses → chat) send a new body without these fields', async () => {
    const { secret } = await gw.userWithKey({ id: 'or-translated', max_budget: 10 })
    const fields = { models: ['dear'], route: 'fallback', plugins: [{ id: 'web' }] }
    const viaMessages = await post('/v1/messages', secret, { model: 'plain:m', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }], ...fields })
    expect(viaMessages.status).toBe(200)
    await viaMessages.text()
    const viaChat = await post('/v1/responses', secret, { model: 'viachat:m', input: 'hi', max_output_tokens: 16, store: false, ...fields })
    expect(viaChat.status).toBe(200)
    await viaChat.text()
    expect(upstream.calls.map((c) => ['models', 'route', 'plugins'].filter((f) => f in c.body))).toEqual([[], []])
  })
})

describe('OpenRouter plugins on an OpenAI-compatible provider', () => {
  test('the web plugin is a billed web search like `web_search_options`: unpriced, it is refused 402 before any provider call', async () => {
    const { secret } = await gw.userWithKey({ id: 'or-plugin', max_budget: 10 })
    // The same request through OpenAI's field is refused, as SPEC §5 asks (web search is not priced here).
    const viaOptions = await chat(secret, { web_search_options: {} })
    expect(((await viaOptions.json()) as any).error.code).toBe('pricing_required')
    // Before the fix: 200, the provider called.
    expect(await refusal(await chat(secret, { plugins: [{ id: 'web', max_results: 10 }] }))).toEqual({ status: 402, code: 'pricing_required', upstreamCalls: 0 })
    // `:online` is the same plugin.
    expect(await refusal(await chat(secret, { model: 'plain:m:online' }))).toEqual({ status: 402, code: 'pricing_required', upstreamCalls: 0 })
  })

  test('priced, the web plugin is held and settled at max_results results (5 by default): no usage counts them', async () => {
    const { secret } = await gw.userWithKey({ id: 'or-web', max_budget: 10 })
    for (const [extra, results] of [
      [{ plugins: [{ id: 'web' }] }, 5],
      [{ plugins: [{ id: 'web', max_results: 2 }] }, 2],
      [{ model: 'plain:web:online' }, 5],
      [{ model: 'plain:web:online', plugins: [{ id: 'web', max_results: 3 }] }, 3],
    ] as const) {
      const res = await chat(secret, { model: 'plain:web', ...extra })
      expect(res.status).toBe(200)
      await res.text()
      const row = await lastUsage('or-web')
      expect({ extra, cost: row.cost, heldForResults: row.reserved >= TOKENS_MICROS + results * RESULT_MICROS }).toEqual({
        extra, cost: TOKENS_MICROS + results * RESULT_MICROS, heldForResults: true,
      })
    }
  })

  test('native Responses: the web plugin settles at its results though the response counts its own tools', async () => {
    const { secret } = await gw.userWithKey({ id: 'or-web-responses', max_budget: 10 })
    upstream.answer(({ body }) => responseObject(body))
    const res = await post('/v1/responses', secret, { model: 'plain:web', input: 'hi', max_output_tokens: 16, store: false, plugins: [{ id: 'web', max_results: 3 }] })
    expect(res.status).toBe(200)
    await res.text()
    expect((await lastUsage('or-web-responses')).cost).toBe(TOKENS_MICROS + 3 * RESULT_MICROS)
    upstream.calls.length = 0
    const unpriced = await post('/v1/responses', secret, { model: 'plain:m', input: 'hi', max_output_tokens: 16, store: false, plugins: [{ id: 'web' }] })
    expect(await refusal(unpriced)).toEqual({ status: 402, code: 'pricing_required', upstreamCalls: 0 })
  })

  test('a file parser billed by tokens and response healing are served; per-page OCR, no engine, or an unknown plugin are refused 400', async () => {
    const { secret } = await gw.userWithKey({ id: 'or-plugins', max_budget: 10 })
    for (const engine of ['pdf-text', 'native', 'cloudflare-ai']) {
      const res = await chat(secret, { plugins: [{ id: 'file-parser', pdf: { engine } }, { id: 'response-healing' }] })
      expect({ engine, status: res.status }).toEqual({ engine, status: 200 })
      await res.text()
    }
    const calls = upstream.calls.length
    for (const plugins of [[{ id: 'file-parser', pdf: { engine: 'mistral-ocr' } }], [{ id: 'file-parser' }], [{ id: 'moderation' }], [{}]]) {
      const res = await chat(secret, { plugins })
      expect({ plugins, status: res.status, code: ((await res.json()) as any).error?.code }).toEqual({ plugins, status: 400, code: 'feature_unsupported' })
    }
    expect(upstream.calls.length).toBe(calls)
  })
})
