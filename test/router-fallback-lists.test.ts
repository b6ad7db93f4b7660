/**
 * A router's per-request fallback lists beyond `fallbacks` and OpenRouter's `models`, and the embeddings route.
 *
 * - A LiteLLM proxy's router takes three per-request fallback lists, not one: its `async_function_with_retries`
 *   pops `fallbacks`, `context_window_fallbacks` and `content_policy_fallbacks` from the request's kwargs
 *   (litellm/router.py), which the proxy fills from the body's fields. A context-window fallback is one the client
 *   can always trigger (send more than the model's window), and the model that answers is billed at its own
 *   rates, which a request priced and held at `plain:m` cannot cover: either list naming another model is refused
 *   400 `feature_unsupported` before any hold or provider call, as `fallbacks` is.
 * - `/v1/embeddings` runs the same refusal: a LiteLLM proxy's router runs embeddings through the same
 *   `function_with_fallbacks` as chat, and OpenRouter's `models` list is read there too.
 */
import { beforeEach, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

let upstream: ScriptedUpstream
let gw: TestGateway

withScriptedGateway(
  {
    pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2 } },
    cap_output_tokens: true,
    default_max_output_tokens: 64,
  },
  (started) => ({ upstream, gw } = started),
)
beforeEach(() => {
  upstream.answer(({ body }) =>
    jsonResponse({
      id: 'chatcmpl-1', object: 'chat.completion', model: body.model,
      choices: [{ index: 0, message: { role: 'assistant', content: 'an answer' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 20, completion_tokens: 16, total_tokens: 36 },
    }),
  )
})

const post = (path: string, secret: string, body: Record<string, unknown>) =>
  fetch(`${gw.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })

test('LiteLLM context_window_fallbacks / content_policy_fallbacks naming another model are refused before any provider call', async () => {
  const { secret } = await gw.userWithKey({ id: 'litellm-fallback-lists', max_budget: 10 })
  const outcomes = []
  for (const field of ['context_window_fallbacks', 'content_policy_fallbacks']) {
    const res = await post('/v1/chat/completions', secret, {
      model: 'plain:m', messages: [{ role: 'user', content: 'hi' }], max_tokens: 16, [field]: [{ m: ['dear'] }],
    })
    outcomes.push({ field, status: res.status, code: ((await res.json()) as any).error?.code ?? null })
  }
  // Before the fix: 200 and 200, the provider got `context_window_fallbacks: [{m: ["dear"]}]` (2 upstream calls).
  expect({ outcomes, upstreamCalls: upstream.calls.length }).toEqual({
    outcomes: [
      { field: 'context_window_fallbacks', status: 400, code: 'feature_unsupported' },
      { field: 'content_policy_fallbacks', status: 400, code: 'feature_unsupported' },
    ],
    upstreamCalls: 0,
  })
})

test('embeddings: router fallbacks (OpenRouter `models`, LiteLLM `fallbacks`) naming another model are refused as on chat', async () => {
  // A LiteLLM proxy's router runs embeddings through the same function_with_fallbacks as chat; a primary's error the
  // client can cause (e.g. `dimensions` on a model that takes none) then serves, and bills, the dearer model.
  const { secret } = await gw.userWithKey({ id: 'embeddings-fallbacks', max_budget: 10 })
  upstream.answer(() => jsonResponse({ object: 'list', model: 'dear', data: [{ object: 'embedding', index: 0, embedding: [0.1, 0.2] }], usage: { prompt_tokens: 4, total_tokens: 4 } }))
  const outcomes = []
  for (const extra of [{ fallbacks: ['dear'] }, { models: ['dear'] }]) {
    const res = await post('/v1/embeddings', secret, { model: 'plain:m', input: 'hello there', ...extra })
    outcomes.push({ field: Object.keys(extra)[0], status: res.status, code: ((await res.json()) as any).error?.code ?? null })
  }
  // Before the fix: 200 and 200, both lists reached the provider.
  expect({ outcomes, upstreamCalls: upstream.calls.length }).toEqual({
    outcomes: [
      { field: 'fallbacks', status: 400, code: 'feature_unsupported' },
      { field: 'models', status: 400, code: 'feature_unsupported' },
    ],
    upstreamCalls: 0,
  })
})

test('lists that name only the model asked for are served, on chat and embeddings', async () => {
  const { secret } = await gw.userWithKey({ id: 'fallback-lists-itself', max_budget: 10 })
  const chat = await post('/v1/chat/completions', secret, {
    model: 'plain:m', messages: [{ role: 'user', content: 'hi' }], max_tokens: 16, context_window_fallbacks: ['m'], content_policy_fallbacks: [{ model: 'm' }],
  })
  expect(chat.status).toBe(200)
  await chat.text()
  upstream.answer(() => jsonResponse({ object: 'list', model: 'm', data: [{ object: 'embedding', index: 0, embedding: [0.1, 0.2] }], usage: { prompt_tokens: 4, total_tokens: 4 } }))
  const embeddings = await post('/v1/embeddings', secret, { model: 'plain:m', input: 'hello there', models: ['m'], fallbacks: [] })
  expect(embeddings.status).toBe(200)
  await embeddings.text()
  expect(upstream.calls.length).toBe(2)
})
