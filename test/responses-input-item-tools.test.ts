import { describe, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * The Responses API takes tools in an input item too: `{type: "additional_tools", role: "developer", tools: [...]}`
 * ("A list of additional tools made available at this item", any `Tool`: web_search, code_interpreter,
 * image_generation, file_search, mcp; openai-node `ResponseInputItem.AdditionalTools`), and the tools a client-run
 * tool search loaded (`tool_search_output`). Those are offered as much as `tools` are: a billed one follows
 * require-pricing (SPEC §5), is bounded by `max_tool_calls` and held for, its calls billed. Since the provider
 * keeps such an item with a stored response (and in a conversation), where a later turn could call the tool with
 * nothing in its own request to price or bound it, a billed tool or MCP server there is served only with
 * `store: false` and no conversation (400 `feature_unsupported` otherwise, before any call).
 * `plain:m`: $1/$2 per million; `priced:m` the same with web search at $0.01 a call (10,000 µ$).
 */
let upstream: ScriptedUpstream
let gw: TestGateway

withScriptedGateway(
  (u) => ({
    providers: { plain: { type: 'openai', base_url: `${u.url}/v1`, api_key: 'sk-scripted-secret-0123456789' }, priced: { type: 'openai', base_url: `${u.url}/v1`, api_key: 'sk-scripted-secret-0123456789' } },
    pricing: {
      'plain:m': { input_per_million: 1, output_per_million: 2 },
      'priced:m': { input_per_million: 1, output_per_million: 2, server_tools: { web_search: 0.01 } },
    },
    cap_output_tokens: true,
    default_max_output_tokens: 64,
  }),
  (started) => ({ upstream, gw } = started),
)

const usage = (input: number, output: number) => ({
  input_tokens: input, input_tokens_details: { cached_tokens: 0 }, output_tokens: output, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: input + output,
})
/** An answer that searched `n` times. */
const searched = (n: number) => () =>
  jsonResponse({
    id: `resp_${crypto.randomUUID()}`, object: 'response', status: 'completed', model: 'm', usage: usage(500, 20),
    output: [
      ...Array.from({ length: n }, (_, i) => ({ type: 'web_search_call', id: `ws_${crypto.randomUUID()}_${i}`, status: 'completed', action: { type: 'search', query: 'q' } })),
      { type: 'message', id: `msg_${crypto.randomUUID()}`, role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'ok', annotations: [] }] },
    ],
  })
const post = (secret: string, body: Record<string, unknown>) =>
  fetch(`${gw.url}/v1/responses`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })
const withAdditionalWebSearch = (model: string) => ({
  model,
  store: false,
  max_output_tokens: 16,
  input: [{ type: 'additional_tools', role: 'developer', tools: [{ type: 'web_search' }] }, { role: 'user', content: 'Search the web' }],
})

describe('hosted tools offered in input items (`additional_tools`, `tool_search_output`)', () => {
  test('an unpriced web search is refused (402 pricing_required) before any call, as in `tools`', async () => {
    const { secret } = await gw.userWithKey({ id: 'item-tools-unpriced', max_budget: 10 })
    // The same tool in `tools` is refused: the rule the input item must follow too.
    const inTools = await post(secret, { model: 'plain:m', tools: [{ type: 'web_search' }], input: 'Search the web' })
    expect(inTools.status).toBe(402)
    await inTools.text()
    upstream.answer(searched(5))
    const res = await post(secret, withAdditionalWebSearch('plain:m'))
    await res.text()
    expect({ status: res.status, calls: upstream.calls.length }).toEqual({ status: 402, calls: 0 })
  })

  test('a priced web search is bounded (max_tool_calls) and its calls are billed, not left unbilled as past the hold', async () => {
    const { secret } = await gw.userWithKey({ id: 'item-tools-priced', max_budget: 10 })
    upstream.answer(searched(3))
    const res = await post(secret, withAdditionalWebSearch('priced:m'))
    expect(res.status).toBe(200)
    await res.text()
    await gw.settled()
    const row = gw.query<{ cost: number }>(`SELECT cost FROM usage WHERE user_id = 'item-tools-priced'`)[0]!
    // Three searches at 10,000 µ$ each, besides 500 input and 16 output tokens.
    expect({ maxToolCalls: upstream.calls[0]!.body.max_tool_calls, cost: row.cost }).toEqual({ maxToolCalls: 5, cost: 30_000 + 500 + 16 * 2 })
  })

  test('the same through a `tool_search_output` item (tools a client-run tool search loaded): refused unpriced', async () => {
    const { secret } = await gw.userWithKey({ id: 'item-tools-tool-search', max_budget: 10 })
    upstream.answer(searched(5))
    const res = await post(secret, {
      model: 'plain:m',
      store: false,
      max_output_tokens: 16,
      input: [
        { role: 'user', content: 'Search the web' },
        { type: 'tool_search_call', call_id: 'ts_1', execution: 'client', status: 'completed', arguments: {} },
        { type: 'tool_search_output', call_id: 'ts_1', execution: 'client', status: 'completed', tools: [{ type: 'web_search' }] },
      ],
    })
    await res.text()
    expect({ status: res.status, calls: upstream.calls.length }).toEqual({ status: 402, calls: 0 })
  })

  test('a billed tool in an input item whose context is kept (store on, or a conversation): 400 before any call', async () => {
    const { secret } = await gw.userWithKey({ id: 'item-tools-kept', max_budget: 10 })
    upstream.answer(searched(5))
    const kept = [
      { ...withAdditionalWebSearch('priced:m'), store: undefined },
      { ...withAdditionalWebSearch('priced:m'), store: true },
      { ...withAdditionalWebSearch('priced:m'), conversation: 'conv_kept' },
    ]
    for (const body of kept) {
      const res = await post(secret, body)
      const { error } = (await res.json()) as { error: { code: string; message: string } }
      expect({ status: res.status, code: error.code }).toEqual({ status: 400, code: 'feature_unsupported' })
      expect(error.message).toStartWith('Invalid body: input[0].tools: a "web_search" tool offered in an input item is served only with store: false')
    }
    expect(upstream.calls.length).toBe(0)
  })

  test('free tools in an input item are served whatever is kept; an unknown type is refused as in tools, naming the item', async () => {
    const { secret } = await gw.userWithKey({ id: 'item-tools-free', max_budget: 10 })
    upstream.answer(searched(0))
    const fn = { type: 'function', name: 'lookup', parameters: { type: 'object', properties: {} } }
    const res = await post(secret, { model: 'plain:m', max_output_tokens: 16, input: [{ type: 'additional_tools', role: 'developer', tools: [fn] }, { role: 'user', content: 'hi' }] })
    expect(res.status).toBe(200)
    await res.text()
    expect(upstream.calls[0]!.body.max_tool_calls).toBeUndefined()
    const unknown = await post(secret, { model: 'plain:m', store: false, input: [{ role: 'user', content: 'hi' }, { type: 'tool_search_output', call_id: 'ts_1', execution: 'client', status: 'completed', tools: [{ type: 'browser_agent' }] }] })
    const { error } = (await unknown.json()) as { error: { code: string; message: string } }
    expect({ status: unknown.status, code: error.code }).toEqual({ status: 400, code: 'feature_unsupported' })
    expect(error.message).toContain('input[1].tools')
    expect(upstream.calls.length).toBe(1)
  })
})
