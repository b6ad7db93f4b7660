import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { spendAtHeldBudget } from './support/held-budget'
import { jsonResponse, type ScriptedCall, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * The Responses estimate counts `input` and a fixed list of fields (`instructions`, `tools`, `tool_choice`, `text`,
 * `prompt`); every other field passes upstream uncounted (the route's schema is loose). Chat and Messages count
 * unknown fields ("a provider feature the gateway does not know yet may well add input"); Responses does not.
 * vLLM's Responses API (gpt-oss, native route for an OpenAI-type provider) takes `previous_input_messages`:
 * earlier turns, chat- or Harmony-format messages, prepended to the prompt (vllm/entrypoints/openai/…/harmony_utils.py
 * `construct_harmony_previous_input_messages`) and billed as input. 100 kB of it is held at nothing.
 * With cap-output on, SPEC §6 makes `spend <= max_budget` an invariant.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
const MODEL = 'plain:openai/gpt-oss-120b'

withScriptedGateway(
  { cap_output_tokens: true, pricing: { [MODEL]: { input_per_million: 1, output_per_million: 2 } } },
  (started) => ({ upstream, gw } = started),
)

/** "a " is one token in o200k (gpt-oss's encoding): the earlier turn's text bills one token every two bytes. */
const HISTORY = 'a '.repeat(50_000)

const billThePrependedTurns = ({ body }: ScriptedCall) => {
  const earlier = (body.previous_input_messages ?? []).reduce((n: number, m: { content: string }) => n + m.content.length / 2, 0)
  const input = earlier + 20
  return jsonResponse({
    id: 'resp_1', object: 'response', created_at: 1, status: 'completed', model: body.model,
    output: [{ type: 'message', id: 'msg_1', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'ok', annotations: [] }] }],
    usage: { input_tokens: input, input_tokens_details: { cached_tokens: 0 }, output_tokens: 2, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: input + 2 },
  })
}

test('cap-output on: vLLM\'s previous_input_messages on a native Responses request never takes spend past max_budget', async () => {
  upstream.answer(billThePrependedTurns)
  const body = { model: MODEL, max_output_tokens: 16, input: 'And then?', previous_input_messages: [{ role: 'user', content: HISTORY }] }
  const { second, spend, budget } = await spendAtHeldBudget(gw, '/v1/responses', body, 'resp-prev-input')
  expect(upstream.calls.at(-1)!.body.previous_input_messages[0].content).toBe(HISTORY)
  expect(second.status).toBe(200)
  expect(spend).toBeLessThanOrEqual(budget)
})
