/**
 * An Anthropic Messages answer whose content shows its `web_search` calls (`server_tool_use` blocks, each with its
 * `web_search_tool_result`) but whose usage does not carry `server_tool_use` (a router's Anthropic-compatible
 * endpoint that drops the field) is billed the searches it shows. Before, an absent `server_tool_use` read as "no
 * tool used" and the blocks counted only for code execution: 52 µ$ settled on a 20,052 bill. Found by the routers'
 * bill simulator (red team ax).
 * Rates: $1/M input, $2/M output (20 in + 16 out = 52 µ$); a web search $0.01 (10,000 µ$).
 */
import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'

let upstream: ScriptedUpstream
let gw: TestGateway
const PRICE = { input_per_million: 1, output_per_million: 2, server_tools: { web_search: 0.01 } }

withScriptedGateway(
  {
    pricing: { 'ant:m': PRICE, 'ant:m:online': PRICE },
    cap_output_tokens: true,
    default_max_output_tokens: 64,
    server_tool_default_max_uses: 2,
  },
  (started) => ({ upstream, gw } = started),
)

const searches = (n: number) =>
  Array.from({ length: n }, (_, i) => [
    { type: 'server_tool_use', id: `srvtoolu_${i}`, name: 'web_search', input: { query: 'q' } },
    { type: 'web_search_tool_result', tool_use_id: `srvtoolu_${i}`, content: [] },
  ]).flat()

async function run(id: string, model: string) {
  const { secret } = await gw.userWithKey({ id, max_budget: 10 })
  upstream.answer(({ body }) =>
    jsonResponse({
      id: 'msg_1', type: 'message', role: 'assistant', model: body.model, content: [...searches(2), { type: 'text', text: 'x' }],
      stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: 20, output_tokens: 16 },
    }),
  )
  return settledRow(gw, id, async () => {
    const res = await fetch(`${gw.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': secret, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model, max_tokens: 16, messages: [{ role: 'user', content: 'hi' }], tools: [{ type: 'web_search_20250305', name: 'web_search', max_uses: 2 }] }),
    })
    expect(res.status).toBe(200)
    await res.text()
  })
}

test('Messages: two web searches shown as server_tool_use blocks, usage without server_tool_use: both billed', async () => {
  const row = await run('rt-ax-blocks', 'ant:m')
  expect(row.cost).toBe(52 + 2 * 10_000)
})

test('Messages, an :online model (OpenRouter web plugin, 5 results) with the same answer: the results and the two searches shown billed (up to the 7 held)', async () => {
  const row = await run('rt-ax-blocks-online', 'ant:m:online')
  expect(row.cost).toBe(52 + 7 * 10_000)
})
