/**
 * OpenRouter's router fields on `/v1/messages` to an `anthropic` provider, and its `:online` models on every route.
 * OpenRouter also serves an Anthropic-compatible Messages API (its documented ANTHROPIC_BASE_URL for Claude Code is
 * https://openrouter.ai/api, which an `anthropic` provider here calls at /v1/messages), and a LiteLLM proxy serves
 * /v1/messages through the same router. A native Messages body with OpenRouter's `models` list, its `plugins`, or a
 * model slug ending in `:online` reached that provider untouched: another model served and billed at `ant:m`'s
 * rates, web results ($4 per 1,000) neither priced nor held. The same rules as on chat apply: `models` naming another
 * model is refused 400, the web plugin and `:online` are web search results (402 without a price, else held and
 * billed at `max_results`, 5 by default). `:online` is read from the model whatever the route, so chat and
 * Responses translated to Anthropic hold for it too.
 * Rates: $1/M input, $2/M output; `ant:web` and `ant:web:online` price a web search result at $0.004; no
 * web_search price on the other rows.
 */
import { beforeEach, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'

let upstream: ScriptedUpstream
let gw: TestGateway

const RATES = { input_per_million: 1, output_per_million: 2 }
const RESULT_MICROS = 4_000

withScriptedGateway(
  {
    pricing: {
      'ant:m': RATES,
      'ant:m:online': RATES,
      'ant:web': { ...RATES, server_tools: { web_search: 0.004 } },
      'ant:web:online': { ...RATES, server_tools: { web_search: 0.004 } },
    },
    cap_output_tokens: true,
    default_max_output_tokens: 64,
  },
  (started) => ({ upstream, gw } = started),
)
beforeEach(() => {
  upstream.answer(({ body }) =>
    jsonResponse({
      id: 'msg_1', type: 'message', role: 'assistant', model: body.model, content: [{ type: 'text', text: 'an answer' }],
      stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: 20, output_tokens: 16 },
    }),
  )
})

const messages = (secret: string, extra: Record<string, unknown>) =>
  fetch(`${gw.url}/v1/messages`, {
    method: 'POST',
    headers: { 'x-api-key': secret, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
    body: JSON.stringify({ model: 'ant:m', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }], ...extra }),
  })

test('Messages to an anthropic-type router: `models` fallbacks, the web plugin and `:online` are refused as on chat', async () => {
  const { secret } = await gw.userWithKey({ id: 'messages-router-fields', max_budget: 10 })
  const outcomes = []
  for (const extra of [{ models: ['dear'] }, { plugins: [{ id: 'web', max_results: 10 }] }, { model: 'ant:m:online' }]) {
    const res = await messages(secret, extra)
    outcomes.push({ extra, status: res.status, type: ((await res.json()) as any).error?.type ?? null })
  }
  // Before the fix: 200, 200, 200 (3 upstream calls). Now 400 for the fallback list, 402 for the unpriced web results.
  expect({ statuses: outcomes.map((o) => o.status), upstreamCalls: upstream.calls.length }).toEqual({ statuses: [400, 402, 402], upstreamCalls: 0 })
})

const post = (path: string, secret: string, body: Record<string, unknown>) =>
  fetch(`${gw.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })

test('`:online` translated to an Anthropic provider (chat, Responses) is a web search too: 402 without its price', async () => {
  const { secret } = await gw.userWithKey({ id: 'online-translated', max_budget: 10 })
  const chat = await post('/v1/chat/completions', secret, { model: 'ant:m:online', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] })
  const responses = await post('/v1/responses', secret, { model: 'ant:m:online', max_output_tokens: 16, input: 'hi' })
  const codes = [((await chat.json()) as any).error?.code, ((await responses.json()) as any).error?.code]
  expect({ statuses: [chat.status, responses.status], codes, upstreamCalls: upstream.calls.length }).toEqual({
    statuses: [402, 402], codes: ['pricing_required', 'pricing_required'], upstreamCalls: 0,
  })
})

test('priced, the web results are held and billed on every route to an Anthropic provider', async () => {
  const { secret } = await gw.userWithKey({ id: 'online-priced', max_budget: 10 })
  const tokens = 20 + 2 * 16
  const cases: Array<[string, Record<string, unknown>, number]> = [
    ['/v1/messages', { model: 'ant:web', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }], plugins: [{ id: 'web', max_results: 3 }] }, 3],
    ['/v1/messages', { model: 'ant:web:online', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }, 5],
    ['/v1/chat/completions', { model: 'ant:web:online', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }, 5],
    ['/v1/responses', { model: 'ant:web:online', max_output_tokens: 16, input: 'hi' }, 5],
  ]
  for (const [path, body, results] of cases) {
    const row = await settledRow(gw, 'online-priced', async () => {
      const res = path === '/v1/messages' ? await messages(secret, body) : await post(path, secret, body)
      expect(res.status).toBe(200)
      await res.text()
    })
    expect({ path, body, cost: row.cost }).toEqual({ path, body, cost: tokens + results * RESULT_MICROS })
  }
})
