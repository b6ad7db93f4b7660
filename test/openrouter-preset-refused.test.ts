/**
 * OpenRouter presets (openrouter.ai/docs/features/presets) are named configurations kept in the OpenRouter account —
 * the operator's, whose key the gateway sends — that "manage provider routing preferences, model selection (specific
 * model or array of models with fallbacks), system prompts, generation parameters … tools, including OpenRouter
 * server tools such as web search, advisors, and subagents". A request names one by `model: "@preset/slug"`,
 * `model: "vendor/model@preset/slug"`, or a `preset` field beside its own model. The first two change the model the
 * gateway prices (no price row: 402). The third would pass through chat, Responses and Messages (to OpenRouter's
 * Anthropic-compatible endpoint) with none of src/pricing/router-fields.ts's checks seeing what the preset adds —
 * fallback models billed at their own rates, a system prompt of unseen size, server tools billed per use — so any
 * key could spend, at `plain:m`'s rates, on whatever preset the operator's account holds. Refused 400
 * `feature_unsupported` before any call.
 *
 * The scripted upstream stands for OpenRouter with a preset `deep-research` that falls back to a dearer model and
 * runs 20 web searches.
 */
import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

let upstream: ScriptedUpstream
let gw: TestGateway
withScriptedGateway(
  (u) => ({
    providers: {
      plain: { type: 'openai', base_url: `${u.url}/api/v1`, api_key: 'sk-or-scripted-0123456789', catalog: 'openrouter' },
      ant: { type: 'anthropic', base_url: `${u.url}/api`, api_key: 'sk-or-scripted-0123456789', catalog: 'openrouter' },
    },
    pricing: {
      'plain:m': { input_per_million: 1, output_per_million: 2, server_tools: { web_search: 0.004 } },
      'ant:claude-m': { input_per_million: 1, output_per_million: 2 },
    },
  }),
  (s) => ({ upstream, gw } = s),
)

const post = async (path: string, secret: string, body: Record<string, unknown>) => {
  const res = await fetch(`${gw.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
    body: JSON.stringify(body),
  })
  return { status: res.status, text: await res.text() }
}

test('chat: a preset field is not sent to OpenRouter unseen', async () => {
  const { secret } = await gw.userWithKey({ id: 'preset-chat', max_budget: 1 })
  upstream.answer(() =>
    jsonResponse({
      id: 'gen-1', object: 'chat.completion', created: 1, model: 'openai/o3-deep-research', // the preset's fallback answered
      choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 40_000, completion_tokens: 2, total_tokens: 40_002, server_tool_use: { web_search_requests: 20 } },
    }),
  )
  const { status } = await post('/v1/chat/completions', secret, { model: 'plain:m', messages: [{ role: 'user', content: 'hi' }], max_tokens: 16, preset: 'deep-research' })
  await gw.settled()
  expect({ status, presetsSent: upstream.calls.filter((c) => c.body.preset !== undefined).length }).toEqual({ status: 400, presetsSent: 0 })
})

test('messages (OpenRouter\'s Anthropic-compatible endpoint): a preset field is not sent unseen', async () => {
  const { secret } = await gw.userWithKey({ id: 'preset-messages', max_budget: 1 })
  upstream.answer(() =>
    jsonResponse({
      id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-m', content: [{ type: 'text', text: 'ok' }],
      stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: 40_000, output_tokens: 2 },
    }),
  )
  const { status } = await post('/v1/messages', secret, { model: 'ant:claude-m', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }], preset: 'deep-research' })
  await gw.settled()
  expect({ status, presetsSent: upstream.calls.filter((c) => c.body.preset !== undefined).length }).toEqual({ status: 400, presetsSent: 0 })
})

test('responses: a preset field is not sent to OpenRouter unseen; a null one is served', async () => {
  const { secret } = await gw.userWithKey({ id: 'preset-responses', max_budget: 1 })
  upstream.calls.length = 0
  const refused = await post('/v1/responses', secret, { model: 'plain:m', input: 'hi', max_output_tokens: 16, store: false, preset: 'deep-research' })
  expect({ status: refused.status, code: JSON.parse(refused.text).error?.code, calls: upstream.calls.length }).toEqual({ status: 400, code: 'feature_unsupported', calls: 0 })
  upstream.answer(() =>
    jsonResponse({
      id: 'gen-2', object: 'chat.completion', created: 1, model: 'm',
      choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 },
    }),
  )
  const { status } = await post('/v1/chat/completions', secret, { model: 'plain:m', messages: [{ role: 'user', content: 'hi' }], max_tokens: 16, preset: null })
  expect(status).toBe(200)
})
