import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { spendAtHeldBudget } from './support/held-budget'
import { jsonResponse, type ScriptedCall, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * A remote MCP server on the Responses API (`type: "mcp"`) is the client's to choose (`server_url`), and what it
 * lists and answers comes back as input that nothing in the request bounds. The hold allowed `(max_tool_calls +
 * one listing per server) × TOLLGATE_SERVER_TOOL_USE_INPUT_TOKENS` (40,000 tokens here), but a server that lists
 * 60,000 tokens of tools and answers one call with 60,000 more is billed 120,000: held 40,758 µ$, billed 120,052.
 * With cap-output on (SPEC §6: `spend <= max_budget`) it is refused, 400 `feature_unsupported`, as Anthropic's
 * MCP connector (`mcp_servers`) is, before any hold or upstream call.
 */
let upstream: ScriptedUpstream
let gw: TestGateway

withScriptedGateway(
  {
    cap_output_tokens: true,
    pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2 } },
  },
  (started) => ({ upstream, gw } = started),
)

const mcp = ({ body }: ScriptedCall) => {
  const input = 20 + 120_000
  return jsonResponse({
    id: 'resp_2', object: 'response', status: 'incomplete', model: body.model,
    usage: { input_tokens: input, input_tokens_details: { cached_tokens: 0 }, output_tokens: body.max_output_tokens, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: input + body.max_output_tokens },
    output: [
      { type: 'mcp_list_tools', id: 'mcpl_1', server_label: 'mine', tools: [] },
      { type: 'mcp_call', id: 'mcp_1', server_label: 'mine', name: 'dump', arguments: '{}', output: 'x' },
      { type: 'message', id: 'msg_2', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'ok', annotations: [] }] },
    ],
  })
}

test("cap-output on: a remote MCP server of the client's choosing never takes spend past max_budget", async () => {
  upstream.answer(mcp)
  const body = {
    model: 'plain:m', max_output_tokens: 16, store: false, max_tool_calls: 1,
    tools: [{ type: 'mcp', server_label: 'mine', server_url: 'https://mcp.example.com/sse', require_approval: 'never' }],
    input: 'Call dump.',
  }
  // Refused before any hold (as mcp_servers is on /v1/messages), nothing is spent; served, the hold must bound it.
  const { secret } = await gw.userWithKey({ id: 'remote-mcp-refusal', max_budget: 1 })
  const first = await fetch(gw.url + '/v1/responses', { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })
  const refusal = (await first.json()) as { error?: { code?: string } }
  if (first.status === 400) {
    expect(refusal.error?.code).toBe('feature_unsupported')
    return expect(upstream.calls.length).toBe(0)
  }
  const { second, spend, budget } = await spendAtHeldBudget(gw, '/v1/responses', body, 'remote-mcp')
  expect(second.status).toBe(200)
  expect(spend).toBeLessThanOrEqual(budget)
})
