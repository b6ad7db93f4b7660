/**
 * OpenRouter's web plugin takes an `engine`: "exa" (billed $4 per 1,000 results, what `server_tools.web_search` prices
 * per result, README) or "native" — the model provider's own search, "pricing passed through directly from the
 * provider" (OpenAI: per search call, $25 per 1,000 for gpt-4o whatever `max_results` says; Anthropic $10 per 1,000
 * searches), and newer engines with prices of their own. With no engine, OpenRouter runs native search for
 * Anthropic, OpenAI, Perplexity and xAI models (and `:online` is the plugin with no engine). Before the fix the
 * gateway read only `max_results` and billed each result at the per-result price, so a native search was billed as
 * one Exa result: $0.004 for a call the provider bills $0.025 and up.
 * SPEC §5: a billed feature the price book cannot price is refused (402/400) before any upstream call.
 */
import { beforeEach, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { routerFeatures } from '../src/pricing/router-fields'
import { jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

let upstream: ScriptedUpstream
let gw: TestGateway

// OpenRouter as an OpenAI-compatible provider; web_search priced per result as the README says ($0.004).
const PRICE = { input_per_million: 2.5, output_per_million: 10, server_tools: { web_search: 0.004 } }
const GPT = 'plain:openai/gpt-4o'
const LLAMA = 'plain:meta-llama/llama-3.1-70b-instruct'

withScriptedGateway(
  { pricing: { [GPT]: PRICE, [`${GPT}:online`]: PRICE, [LLAMA]: PRICE } },
  (started) => ({ upstream, gw } = started),
)

beforeEach(() => {
  upstream.calls.length = 0
  upstream.answer(({ body }) =>
    jsonResponse({
      id: 'gen-1', object: 'chat.completion', created: 1, model: body.model,
      choices: [{ index: 0, message: { role: 'assistant', content: 'news' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 20, completion_tokens: 10, total_tokens: 30 },
    }),
  )
})

async function chat(user: string, fields: Record<string, unknown>) {
  const { secret } = await gw.userWithKey({ id: user, max_budget: 10 })
  const callsBefore = upstream.calls.length
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: GPT, max_tokens: 16, messages: [{ role: 'user', content: 'latest news?' }], ...fields }),
  })
  const text = await res.text()
  await gw.settled()
  const cost = gw.query<{ cost: number }>('SELECT cost FROM usage WHERE user_id = ? ORDER BY id DESC LIMIT 1', user)[0]?.cost ?? null
  return { status: res.status, text, upstreamCalls: upstream.calls.length - callsBefore, cost }
}

test('a web plugin with engine "native" is not billed as Exa results: refused before the call', async () => {
  const res = await chat('engine-native', { plugins: [{ id: 'web', engine: 'native', max_results: 1 }] })
  // Before: 200, the call made, cost 4,150 µ$ (one "result" at $0.004 + tokens) for a native OpenAI search call that
  // OpenRouter passes through at >= $0.025.
  expect({ status: res.status, upstreamCalls: res.upstreamCalls, cost: res.cost }).toMatchObject({ upstreamCalls: 0 })
  expect([400, 402]).toContain(res.status)
  expect(res.text).toContain('feature_unsupported')
})

test('no engine on a model OpenRouter searches natively by default, another engine, or `:online` there: refused before the call', async () => {
  for (const [user, fields] of [
    ['engine-default-native', { plugins: [{ id: 'web', max_results: 1 }] }],
    ['engine-parallel', { plugins: [{ id: 'web', engine: 'parallel' }] }],
    ['engine-online-native', { model: `${GPT}:online` }],
  ] as const) {
    const res = await chat(user, fields)
    expect({ user, status: res.status, upstreamCalls: res.upstreamCalls }).toEqual({ user, status: 400, upstreamCalls: 0 })
    expect(JSON.parse(res.text).error).toMatchObject({ code: 'feature_unsupported', message: expect.stringContaining('"exa"') })
  }
})

test('engine "exa" (on any model), or no engine on a model OpenRouter searches with Exa: served, each result billed', async () => {
  // 20 input at $2.50/M (50 µ$) + 10 output at $10/M (100 µ$) + 2 results at $0.004.
  const tokens = 150
  for (const [user, fields] of [
    ['engine-exa', { plugins: [{ id: 'web', engine: 'exa', max_results: 2 }] }],
    ['engine-exa-online', { model: `${GPT}:online`, plugins: [{ id: 'web', engine: 'exa', max_results: 2 }] }],
    ['engine-default-exa', { model: LLAMA, plugins: [{ id: 'web', max_results: 2 }] }],
  ] as const) {
    const res = await chat(user, fields)
    expect({ user, status: res.status, upstreamCalls: res.upstreamCalls, cost: res.cost }).toEqual({ user, status: 200, upstreamCalls: 1, cost: tokens + 2 * 4000 })
  }
})

test('the models whose web plugin searches natively when no engine is named: by slug, by a vendor\'s model name, and the auto router', () => {
  const refused = (model: string) => {
    try {
      routerFeatures({ plugins: [{ id: 'web' }] }, model)
      return false
    } catch {
      return true
    }
  }
  const native = ['openai/gpt-4o', 'anthropic/claude-sonnet-4.5', 'perplexity/sonar-pro', 'x-ai/grok-4', '~anthropic/claude-sonnet-latest', 'openrouter/auto', 'gpt-4o', 'o3-mini', 'claude-sonnet-4-5', 'grok-4']
  const exa = ['meta-llama/llama-3.1-70b-instruct', 'mistralai/mistral-large', 'qwen/qwen3-235b-a22b', 'm']
  expect(native.filter((m) => !refused(m))).toEqual([])
  expect(exa.filter(refused)).toEqual([])
})
