/**
 * Tool names in an answer are the provider's: one that is also the name of an inherited object property
 * (`toString`, `constructor`) once started its count at that inherited function, so the count became a string and
 * the tool's fee NaN — a settlement of NaN that left the user's spend unreadable. Such a name is counted like any
 * other (from 0), its fee is what the price row says of it (nothing here), and the bill is the tokens'.
 * Rates: $1/M input, $2/M output (20 in + 16 out = 52 µ$); a web search $0.01.
 */
import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'

let upstream: ScriptedUpstream
let gw: TestGateway

withScriptedGateway(
  { pricing: { 'ant:m': { input_per_million: 1, output_per_million: 2, server_tools: { web_search: 0.01 } } } },
  (started) => ({ upstream, gw } = started),
)

const toolUse = (name: string, i: number) => [
  { type: 'server_tool_use', id: `srvtoolu_${i}`, name, input: {} },
  { type: 'web_search_tool_result', tool_use_id: `srvtoolu_${i}`, content: [] },
]

test('server_tool_use blocks named toString and constructor: the bill is a number, the tokens and the search shown', async () => {
  const { secret } = await gw.userWithKey({ id: 'inherited-names', max_budget: 10 })
  upstream.answer(({ body }) =>
    jsonResponse({
      id: 'msg_1', type: 'message', role: 'assistant', model: body.model,
      content: [...toolUse('toString', 0), ...toolUse('constructor', 1), ...toolUse('web_search', 2), { type: 'text', text: 'x' }],
      stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: 20, output_tokens: 16 },
    }),
  )
  const row = await settledRow(gw, 'inherited-names', async () => {
    const res = await fetch(`${gw.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': secret, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'ant:m', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }], tools: [{ type: 'web_search_20250305', name: 'web_search', max_uses: 2 }] }),
    })
    expect(res.status).toBe(200)
    await res.text()
  })
  expect(row.cost).toBe(52 + 10_000)
  const user = (await gw.admin('GET', '/v1/users/inherited-names')).body
  expect(user.spend).toBe(0.010052)
})
