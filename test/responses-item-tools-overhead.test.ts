/**
 * Tools offered in a Responses input item (`additional_tools`, `tool_search_output`) are offered as one in `tools` is:
 * priced, bounded, held and settled by the same rules (README). The hold of a request offering tools carries the
 * provider's hidden tool-use input (TOOL_USE_OVERHEAD_TOKENS: the tool-use system prompt and the hidden rendering of
 * function definitions), so the same function offered in an item, which carries its definition and more wrapper bytes,
 * is never held for less than in `tools`: with cap-output on, a provider billing that hidden input would otherwise
 * take spend past max_budget (SPEC §6). Rates $1/M input, $2/M output.
 */
import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

let upstream: ScriptedUpstream
let gw: TestGateway
withScriptedGateway(
  (u) => ({
    providers: { plain: { type: 'openai', base_url: `${u.url}/v1`, api_key: 'sk-scripted-secret-0123456789' } },
    pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2 } },
    cap_output_tokens: true,
  }),
  (started) => ({ upstream, gw } = started),
)

const fn = { type: 'function', name: 'lookup', description: 'Looks a word up.', parameters: { type: 'object', properties: { word: { type: 'string' } } } }
const question = { role: 'user', content: 'Look up "gateway".' }
const request = (fields: Record<string, unknown>) => ({ model: 'plain:m', store: false, max_output_tokens: 16, ...fields })

/** The hold a request took, µ$, read from X-Budget-Remaining of a $1 user. */
async function held(name: string, body: unknown): Promise<number> {
  const { secret } = await gw.userWithKey({ id: name, max_budget: 1 })
  const res = await fetch(`${gw.url}/v1/responses`, {
    method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify(body),
  })
  await res.text()
  expect(res.status).toBe(200)
  return Math.round((1 - Number(res.headers.get('x-budget-remaining'))) * 1e6)
}

test('a function offered in an input item is held for the tool-use input as one in `tools` is', async () => {
  upstream.answer(() =>
    jsonResponse({
      id: `resp_${crypto.randomUUID()}`, object: 'response', status: 'completed', model: 'm',
      usage: { input_tokens: 10, input_tokens_details: { cached_tokens: 0 }, output_tokens: 2, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 12 },
      output: [{ type: 'message', id: `msg_${crypto.randomUUID()}`, role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'ok', annotations: [] }] }],
    }),
  )
  const viaTools = await held('tools-overhead-in-tools', request({ tools: [fn], input: [question] }))
  const viaAdditionalTools = await held('tools-overhead-in-additional-tools', request({ input: [{ type: 'additional_tools', role: 'developer', tools: [fn] }, question] }))
  const viaToolSearch = await held('tools-overhead-in-tool-search', request({
    input: [{ type: 'tool_search_output', call_id: 'ts_1', execution: 'client', status: 'completed', tools: [fn] }, question],
  }))
  expect(viaAdditionalTools).toBeGreaterThanOrEqual(viaTools)
  expect(viaToolSearch).toBeGreaterThanOrEqual(viaTools)
})
