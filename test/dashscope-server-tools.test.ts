/**
 * DashScope (Alibaba Model Studio, Qwen) chat switches for tools the provider runs itself: its OpenAI-compatible
 * chat takes top-level `enable_search` (with `search_options`) and `enable_code_interpreter`, billed per call beyond
 * tokens, as xAI's `search_parameters` was. `enable_search: true` is a web search (402 `pricing_required` on a row
 * without `server_tools.web_search`); `enable_code_interpreter: true` is refused 400 `feature_unsupported` (nothing
 * in a chat usage counts it). Either way, before any hold or provider call. Priced, a search is one use, as for
 * `web_search_options` (a chat usage does not count searches).
 * Rates: $1/M input, $2/M output; 20 in + 16 out = 52 µ$.
 */
import { beforeEach, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'

let upstream: ScriptedUpstream
let gw: TestGateway

withScriptedGateway(
  {
    // `plain:qwen` prices a web search at $0.004.
    pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2 }, 'plain:qwen': { input_per_million: 1, output_per_million: 2, server_tools: { web_search: 0.004 } } },
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

test('DashScope (Qwen) chat switches for its own server tools (enable_search, enable_code_interpreter) are not served unpriced', async () => {
  const { secret } = await gw.userWithKey({ id: 'dashscope-switches', max_budget: 10 })
  const outcomes = []
  for (const extra of [{ enable_search: true, search_options: { search_strategy: 'agent' } }, { enable_code_interpreter: true }]) {
    const res = await post('/v1/chat/completions', secret, { model: 'plain:m', messages: [{ role: 'user', content: 'hi' }], max_tokens: 16, ...extra })
    outcomes.push({ field: Object.keys(extra)[0], status: res.status, code: ((await res.json()) as any).error?.code ?? null })
  }
  // Before the fix: both 200, both switches reached the provider.
  expect({ outcomes, upstreamCalls: upstream.calls.length }).toEqual({
    outcomes: [
      { field: 'enable_search', status: 402, code: 'pricing_required' },
      { field: 'enable_code_interpreter', status: 400, code: 'feature_unsupported' },
    ],
    upstreamCalls: 0,
  })
})

test('enable_search on a row that prices web search is held and settled as one search; false is no search', async () => {
  const { secret } = await gw.userWithKey({ id: 'dashscope-search-priced', max_budget: 10 })
  const ask = { model: 'plain:qwen', messages: [{ role: 'user', content: 'hi' }], max_tokens: 16 }
  const searched = await settledRow(gw, 'dashscope-search-priced', async () => {
    const res = await post('/v1/chat/completions', secret, { ...ask, enable_search: true })
    expect(res.status).toBe(200)
    await res.text()
  })
  expect(searched.cost).toBe(52 + 4_000)
  const plain = await settledRow(gw, 'dashscope-search-priced', async () => {
    const res = await post('/v1/chat/completions', secret, { ...ask, enable_search: false, enable_code_interpreter: false })
    expect(res.status).toBe(200)
    await res.text()
  })
  expect(plain.cost).toBe(52)
})
