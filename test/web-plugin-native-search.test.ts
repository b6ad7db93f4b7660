/**
 * OpenRouter's web plugin on /v1/messages (an `anthropic` provider at OpenRouter's Anthropic endpoint) whose usage
 * counts the searches the plugin made (`usage.server_tool_use.web_search_requests`: OpenRouter documents it for
 * provider-native web search). The hold counts the plugin's `max_results` as web_search uses; settlement bills the
 * reported searches and the plugin's results together up to those uses, not the one on top of the other (before:
 * 16,033 µ$ on a 12,633 hold, spend past max_budget with cap-output on: the same searches billed twice).
 * Rates: $0.01/M in (so the per-use input allowance adds almost nothing to the hold), $2/M out, web_search $0.004.
 */
import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

let upstream: ScriptedUpstream
let gw: TestGateway

withScriptedGateway(
  {
    // Its writes cost nothing extra (cache_write_per_million at the input rate): held at the input rate.
    pricing: { 'ant:web': { input_per_million: 0.01, output_per_million: 2, cache_write_per_million: 0.01, server_tools: { web_search: 0.004 } } },
    cap_output_tokens: true,
    default_max_output_tokens: 64,
  },
  (started) => ({ upstream, gw } = started),
)

test('cap-output on: a usage that counts the web plugin\'s own search is not billed on top of the results held (cost <= hold, spend <= max_budget)', async () => {
  const { secret } = await gw.userWithKey({ id: 'plugin-reported', max_budget: 0.012633 })
  upstream.answer(({ body }) =>
    jsonResponse({
      id: 'msg_1', type: 'message', role: 'assistant', model: body.model, content: [{ type: 'text', text: 'an answer' }],
      stop_reason: 'end_turn', stop_sequence: null,
      usage: { input_tokens: 20, output_tokens: 16, server_tool_use: { web_search_requests: 1 } },
    }),
  )
  const res = await fetch(`${gw.url}/v1/messages`, {
    method: 'POST',
    headers: { 'x-api-key': secret, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
    body: JSON.stringify({ model: 'ant:web', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }], plugins: [{ id: 'web', max_results: 3 }] }),
  })
  expect(res.status).toBe(200)
  await res.text()
  await gw.settled()
  const row = gw.query<{ cost: number; reserved: number }>('SELECT cost, reserved FROM usage ORDER BY id DESC LIMIT 1')[0]!
  const user = (await gw.admin('GET', '/v1/users/plugin-reported')).body
  // Now: hold 12,633 µ$ (3 results), cost 16,033 (1 reported + 3 held uses): spend 0.016033 > max_budget 0.012633.
  expect({ costWithinHold: row.cost <= row.reserved, spendWithinBudget: user.spend <= user.max_budget }).toEqual({ costWithinHold: true, spendWithinBudget: true })
})
