/**
 * A hosted tool named in a Responses `tool_choice` counts as offered (a router may add it to `tools`), but only when
 * no tool of its type is offered already: the OpenAI Agents SDK for JS (@openai/agents-openai, installed here) turns
 * an agent's `modelSettings.toolChoice` into `{type: "computer_use"}` beside its computer tool (refused as an unknown
 * tool), and `{type: "file_search"}` / `{type: "code_interpreter"}`, a choice among the tools in `tools` carrying none
 * of their settings (held again at the default 20 results, 3.6 times the hold; a second container). The hold with the
 * choice is the tool's alone but for the choice's own few bytes of prompt.
 */
import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

let upstream: ScriptedUpstream
let gw: TestGateway
withScriptedGateway(
  {
    cap_output_tokens: true,
    pricing: {
      'plain:m': {
        input_per_million: 1, output_per_million: 2,
        server_tools: { file_search: 2500 / 1e6, code_interpreter: 0.03, code_interpreter_4g: 0.12 },
      },
    },
  },
  (started) => ({ upstream, gw } = started),
)

const usage = { input_tokens: 100, output_tokens: 16, total_tokens: 116, input_tokens_details: { cached_tokens: 0 }, output_tokens_details: { reasoning_tokens: 0 } }
const message = { type: 'message', id: 'msg_1', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'ok', annotations: [] }] }

/** Status, error code, upstream calls and the hold (µ$, from X-Budget-Remaining of a $1 user) of one request. */
async function send(body: Record<string, unknown>, name: string) {
  const { secret } = await gw.userWithKey({ id: name, max_budget: 1 })
  upstream.calls.length = 0
  upstream.answer(() => jsonResponse({ id: 'resp_ix', object: 'response', status: 'completed', model: 'm', usage, output: [message] }))
  const res = await fetch(`${gw.url}/v1/responses`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  const answer = (await res.json()) as { error?: { code?: string; type?: string; message?: string } }
  const held = Math.round((1 - Number(res.headers.get('x-budget-remaining'))) * 1e6)
  await gw.settled()
  return { status: res.status, code: answer.error?.code ?? null, message: answer.error?.message, upstreamCalls: upstream.calls.length, held }
}

test('Agents SDK toolChoice "computer_use" beside its computer tool ({type: "computer_use"}, an openai SDK ToolChoiceTypes value) is served', async () => {
  const body = {
    model: 'plain:m', max_output_tokens: 16, store: false, input: 'open the settings page',
    tools: [{ type: 'computer' }],
    tool_choice: { type: 'computer_use' },
  }
  const got = await send(body, 'ix-computer-use')
  expect({ status: got.status, code: got.code, upstreamCalls: got.upstreamCalls }).toEqual({ status: 200, code: null, upstreamCalls: 1 })
})

test('Agents SDK toolChoice "file_search" ({type: "file_search"}) over a file_search tool with max_num_results 2 holds what the tool alone holds', async () => {
  const base = {
    model: 'plain:m', max_output_tokens: 16, store: false, max_tool_calls: 1, input: 'What does the handbook say about leave?',
    tools: [{ type: 'file_search', vector_store_ids: ['vs_1'], max_num_results: 2 }],
  }
  const alone = await send(base, 'ix-fs-alone')
  const chosen = await send({ ...base, tool_choice: { type: 'file_search' } }, 'ix-fs-chosen')
  expect(alone.status).toBe(200)
  expect(chosen.status).toBe(200)
  // The choice names the tool already in tools; it cannot bring back more than its 2 results a call.
  expect(chosen.held).toBeGreaterThanOrEqual(alone.held)
  expect(chosen.held).toBeLessThan(alone.held * 1.01)
})

test('Agents SDK toolChoice "code_interpreter" ({type: "code_interpreter"}) over a 4g container holds one container price, as the tool alone does', async () => {
  const base = {
    model: 'plain:m', max_output_tokens: 16, store: false, max_tool_calls: 1, input: 'plot y = x^2',
    tools: [{ type: 'code_interpreter', container: { type: 'auto', memory_limit: '4g' } }],
  }
  const alone = await send(base, 'ix-ci-alone')
  const chosen = await send({ ...base, tool_choice: { type: 'code_interpreter' } }, 'ix-ci-chosen')
  expect(alone.status).toBe(200)
  expect(chosen.status).toBe(200)
  // One call to the one tool in tools: a 4g container ($0.12), not a 4g and a 1g one besides.
  expect(chosen.held).toBeGreaterThanOrEqual(alone.held)
  expect(chosen.held).toBeLessThan(alone.held * 1.01)
})
