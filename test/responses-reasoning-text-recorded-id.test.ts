import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, CAPPED_PLAIN_M, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'

/**
 * Since reasoning_text parts count as content (open-weight servers), fix-responses4 made a reasoning item with a non-empty `reasoning_text` part "carry its content", so
 * it is no longer a stored item by id. But the id may be one the gateway RECORDED: an OpenAI reasoning item of a
 * stored response, whose hidden reasoning the provider keeps under that id (OpenAI's own reasoning is never shown as
 * reasoning_text; only open-weight servers send it, and Codex / the Agents SDK send those back with store:false,
 * ids the gateway never recorded). A client adding a one-character reasoning_text to a recorded id now skips the
 * hold for the stored reasoning (100,000 tokens here): before the merge the same item was held at its stored size
 * and refused 402. A recorded reasoning id must be held at its recorded size whatever content the item carries.
 * Rates: $1 per million input tokens, $2 per million output (1 and 2 µ$ a token).
 */
let upstream: ScriptedUpstream
let gw: TestGateway
withScriptedGateway(CAPPED_PLAIN_M, (started) => ({ upstream, gw } = started))

const usage = (input: number, output: number, reasoning = 0) => ({
  input_tokens: input, input_tokens_details: { cached_tokens: 0 }, output_tokens: output, output_tokens_details: { reasoning_tokens: reasoning }, total_tokens: input + output,
})
const post = (secret: string, body: Record<string, unknown>) =>
  fetch(`${gw.url}/v1/responses`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })

test('a recorded reasoning id sent back with a one-character reasoning_text is still held at its stored size (402, provider not called)', async () => {
  const { secret } = await gw.userWithKey({ id: 'rs-text-hold', max_budget: 0.212 })
  upstream.answer(() => jsonResponse({
    id: 'resp_rst1', object: 'response', status: 'completed', model: 'm', usage: usage(10, 100_010, 100_000),
    output: [
      { type: 'reasoning', id: 'rs_text_hold_1', summary: [] },
      { type: 'message', id: 'msg_rst1', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'ok', annotations: [] }] },
    ],
  }))
  await settledRow(gw, 'rs-text-hold', async () => {
    expect((await post(secret, { model: 'plain:m', input: 'Think hard', max_output_tokens: 100_010 })).status).toBe(200)
  })
  upstream.calls.length = 0
  // The provider resolves rs_text_hold_1 from its store: 100,000 reasoning tokens again, billed as input.
  upstream.answer(() => jsonResponse({
    id: 'resp_rst2', object: 'response', status: 'completed', model: 'm', usage: usage(100_030, 16),
    output: [{ type: 'message', id: 'msg_rst2', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'ok', annotations: [] }] }],
  }))
  const res = await post(secret, {
    model: 'plain:m',
    max_output_tokens: 16,
    input: [
      { role: 'user', content: 'Think hard' },
      { type: 'reasoning', id: 'rs_text_hold_1', summary: [], content: [{ type: 'reasoning_text', text: '.' }] },
      { role: 'user', content: 'go on' },
    ],
  })
  await res.text()
  await gw.settled()
  const user = (await gw.admin('GET', '/v1/users/rs-text-hold')).body
  expect({ status: res.status, upstreamCalls: upstream.calls.length, spendWithinBudget: user.spend <= user.max_budget }).toEqual({
    status: 402, upstreamCalls: 0, spendWithinBudget: true,
  })
})
