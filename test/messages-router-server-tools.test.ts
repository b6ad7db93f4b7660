/**
 * OpenRouter's server tools (`tools: [{type: "openrouter:web_search"}]`, "operated by OpenRouter that any model can
 * call during a request", 0 to N times, each search billed) sent on /v1/messages to an `anthropic` provider
 * (OpenRouter's Anthropic-compatible endpoint). Chat and Responses refuse them in their closed worlds; on Messages a
 * tool type with a `:` (no Anthropic type has one) is refused too, before any hold (before: served unpriced, the
 * answer's 4 searches never billed). (Anthropic's tool shape needs a `name`: without one the schema answers 400.)
 */
import { beforeEach, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

let upstream: ScriptedUpstream
let gw: TestGateway

withScriptedGateway(
  {
    pricing: { 'ant:m': { input_per_million: 1, output_per_million: 2 } },
    cap_output_tokens: true,
    default_max_output_tokens: 64,
  },
  (started) => ({ upstream, gw } = started),
)
beforeEach(() => {
  upstream.answer(({ body }) =>
    jsonResponse({
      id: 'msg_1', type: 'message', role: 'assistant', model: body.model, content: [{ type: 'text', text: 'an answer' }],
      stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: 20, output_tokens: 16, server_tool_use: { web_search_requests: 4 } },
    }),
  )
})

test('Messages: a router server tool (openrouter:web_search, openrouter:web_fetch) is refused before any upstream call, as on chat and Responses', async () => {
  const { secret } = await gw.userWithKey({ id: 'or-server-tools', max_budget: 10 })
  const statuses = []
  for (const type of ['openrouter:web_search', 'openrouter:web_fetch']) {
    const res = await fetch(`${gw.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': secret, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'ant:m', max_tokens: 16, messages: [{ role: 'user', content: 'news?' }], tools: [{ type, name: type.slice(11), parameters: { max_results: 5 } }] }),
    })
    await res.text()
    statuses.push(res.status)
  }
  // Now: [200, 200] and 2 upstream calls, settled at tokens only (the 4 searches each answer reports billed as none).
  expect({ refused: statuses.every((s) => s === 400 || s === 402), statuses, upstreamCalls: upstream.calls.length }).toMatchObject({ refused: true, upstreamCalls: 0 })
})
