import { describe, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, CAPPED_PLAIN_M, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * An item of a stored response named by reference is held at the larger of that response's output tokens
 * and the item's own size as input. Some items of a response's output carry what a tool brought in, which the
 * provider counted as that response's *input*: an `mcp_call` item's `output` (what the MCP server answered),
 * an `mcp_list_tools` item's listing, file search results, code interpreter output. Named by reference, the
 * provider puts the whole item back in the model's context and bills it as input again, so the hold (cap-output
 * on: `spend <= max_budget`, SPEC §6) counts its bytes. Rates: 1 and 2 µ$ a token.
 */
let upstream: ScriptedUpstream
let gw: TestGateway

withScriptedGateway(CAPPED_PLAIN_M, (started) => ({ upstream, gw } = started))

const usage = (input: number, output: number) => ({
  input_tokens: input, input_tokens_details: { cached_tokens: 0 }, output_tokens: output, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: input + output,
})

const post = (secret: string, body: Record<string, unknown>) =>
  fetch(`${gw.url}/v1/responses`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })

describe('an item named by reference is held for everything the item brings back', () => {
  test('an mcp_call item whose server answered 400,000 bytes: referencing it cannot pass the budget (cap-output on)', async () => {
    const { secret } = await gw.userWithKey({ id: 'ref-mcp', max_budget: 10 })
    const answer = 'r'.repeat(400_000) // ~100,000 tokens the MCP server sent back
    // The model called the MCP tool (40 output tokens of arguments); the server's answer was input to its next pass.
    upstream.answer(() => jsonResponse({
      id: 'resp_mcp1', object: 'response', status: 'completed', model: 'm', usage: usage(100_050, 40),
      output: [
        { type: 'mcp_call', id: 'mcp_1', server_label: 'docs', name: 'fetch_all', arguments: '{"q":"everything"}', output: answer, error: null },
        { type: 'message', id: 'msg_mcp1', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'fetched', annotations: [] }] },
      ],
    }))
    // Offered here, a remote MCP server would be refused (cap-output on: nothing bounds what it answers); the
    // stored item stands for one a response made before cap-output was on (the answer is scripted all the same).
    const first = await post(secret, { model: 'plain:m', input: 'Fetch the docs', max_output_tokens: 64 })
    expect(first.status).toBe(200)
    await first.text()
    await gw.settled()

    // 20,000 µ$ left: far less than the 100,000 tokens the referenced item puts back in the context.
    const before = (await gw.admin('GET', '/v1/users/ref-mcp')).body
    await gw.admin('PATCH', '/v1/users/ref-mcp', { max_budget: Number((before.spend + 0.02).toFixed(6)) })
    upstream.calls.length = 0
    upstream.answer(() => jsonResponse({
      id: 'resp_mcp2', object: 'response', status: 'completed', model: 'm', usage: usage(100_020, 16),
      output: [{ type: 'message', id: 'msg_mcp2', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'summary', annotations: [] }] }],
    }))
    const res = await post(secret, { model: 'plain:m', max_output_tokens: 16, input: [{ type: 'item_reference', id: 'mcp_1' }, { role: 'user', content: 'Summarise it' }] })
    await res.text()
    await gw.settled()
    const user = (await gw.admin('GET', '/v1/users/ref-mcp')).body
    // Before the fix: held 153 µ$ (the item at its response's 40 output tokens), billed 100,052 µ$: spend 0.200 of 0.120.
    expect(user.spend).toBeLessThanOrEqual(user.max_budget)
    expect(res.status).toBe(402)
    expect(upstream.calls.length).toBe(0)
  })
})
