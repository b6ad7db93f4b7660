import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { spendAtHeldBudget } from './support/held-budget'
import { jsonResponse, type ScriptedCall, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * Cap-output on, default settings (server_tool_use_input_tokens 20,000 a tool use). A Responses `file_search`
 * call brings its results back as input: up to `max_num_results` chunks (1–50, the client's to set; 20 by
 * default), each up to the vector store's chunk size (800 tokens by default, up to 4,096, set when files are
 * added, so not visible to the gateway). With max_num_results 50 and default chunks, one call is 40,000 input
 * tokens, twice the per-use allowance the hold counted: held 23,252 µ$, billed 42,552. With hard bounds (SPEC
 * §6: `spend <= max_budget`) each call is held at max(allowance, max_num_results × 4,096).
 */
let upstream: ScriptedUpstream
let gw: TestGateway
const RESULTS = 50
const CHUNK = 800 // OpenAI's default max_chunk_size_tokens

withScriptedGateway(
  {
    cap_output_tokens: true,
    pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2, server_tools: { file_search: 2500 / 1e6 } } },
  },
  (started) => ({ upstream, gw } = started),
)

/** One file_search call, as many results as the tool sent upstream allows, each a full chunk of `chunk` tokens. */
const searchWith = (chunk: number) => ({ body }: ScriptedCall) => {
  const tool = body.tools.find((t: any) => t.type === 'file_search')
  const results = Array.from({ length: tool.max_num_results ?? 20 }, (_, i) => ({ file_id: 'file-1', filename: 'a.txt', score: 1, text: 'chunk', attributes: {} }))
  const input = 20 + results.length * chunk
  return jsonResponse({
    id: 'resp_1', object: 'response', status: 'incomplete', model: body.model,
    usage: { input_tokens: input, input_tokens_details: { cached_tokens: 0 }, output_tokens: body.max_output_tokens, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: input + body.max_output_tokens },
    output: [
      { type: 'file_search_call', id: 'fs_1', status: 'completed', queries: ['q'], results },
      { type: 'message', id: 'msg_1', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'ok', annotations: [] }] },
    ],
  })
}

test('cap-output on: a file_search call with max_num_results 50 never takes spend past max_budget', async () => {
  upstream.answer(searchWith(CHUNK))
  const body = {
    model: 'plain:m', max_output_tokens: 16, store: false, max_tool_calls: 1,
    tools: [{ type: 'file_search', vector_store_ids: ['vs_1'], max_num_results: RESULTS }],
    input: 'What does the handbook say about leave?',
  }
  const { second, spend, budget } = await spendAtHeldBudget(gw, '/v1/responses', body, 'file-search-50')
  const sent = upstream.calls.at(-1)!.body
  expect(sent.max_tool_calls).toBe(1)
  expect(second.status).toBe(200)
  // What the provider may bring back with the tool as sent: its results × the chunk size, one call.
  expect(spend).toBeLessThanOrEqual(budget)
})

test('cap-output on: a file_search call at the default max_num_results over the largest chunks (4,096 tokens) never takes spend past max_budget', async () => {
  upstream.answer(searchWith(4096))
  const body = {
    model: 'plain:m', max_output_tokens: 16, store: false, max_tool_calls: 2,
    tools: [{ type: 'file_search', vector_store_ids: ['vs_1'] }],
    input: 'What does the handbook say about leave?',
  }
  const { second, spend, budget } = await spendAtHeldBudget(gw, '/v1/responses', body, 'file-search-default')
  expect(upstream.calls.at(-1)!.body.tools[0].max_num_results).toBeUndefined()
  expect(second.status).toBe(200)
  expect(spend).toBeLessThanOrEqual(budget)
})
