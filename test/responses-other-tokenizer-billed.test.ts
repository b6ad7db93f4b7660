import { expect, test } from 'bun:test'
import { countTokens as cl100k } from 'gpt-tokenizer/encoding/cl100k_base'
import { countTokens as o200k } from 'gpt-tokenizer/encoding/o200k_base'
import type { TestGateway } from './support/gateway'
import { jsonResponse, type ScriptedCall, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'

/**
 * Mutation guard: a stored context made on gpt-4o (o200k) and continued on gpt-4-turbo (cl100k, ~5x the tokens for
 * Gujarati) is held at the larger of its recorded tokens and its bytes. The existing test checks only that spend stays
 * under max_budget, which cap-output guarantees anyway by leaving the provider's excess unbilled: a refactor holding
 * the context at its gpt-4o tokens passes it while every such continuation is billed below the provider's price.
 * This checks the bill: the hold covers the provider's input, and the user pays all of it.
 */
let upstream: ScriptedUpstream
let gw: TestGateway

withScriptedGateway(
  {
    cap_output_tokens: true,
    pricing: {
      'plain:gpt-4o': { input_per_million: 2.5, output_per_million: 10 },
      'plain:gpt-4-turbo': { input_per_million: 10, output_per_million: 30 },
    },
  },
  (started) => ({ upstream, gw } = started),
)

const GUJARATI = 'ગુજરાતી ભાષા ભારતના ગુજરાત રાજ્યની મુખ્ય ભાષા છે અને તે ઇન્ડો-આર્યન ભાષા પરિવારની સભ્ય છે. આ ભાષા લગભગ પાંચ કરોડથી વધુ લોકો બોલે છે. '.repeat(20)
const tokensOn = (model: string, text: string) => (model === 'gpt-4-turbo' ? cl100k(text) : o200k(text))
const contexts = new Map<string, string>()
let lastInput = 0
const provider = (id: string) => ({ body }: ScriptedCall) => {
  const text = (body.previous_response_id ? (contexts.get(body.previous_response_id) ?? '') : '') + String(body.input)
  contexts.set(id, text + 'ok')
  const input = tokensOn(body.model, text) + 10
  lastInput = input
  return jsonResponse({
    id, object: 'response', status: 'completed', model: body.model,
    usage: { input_tokens: input, input_tokens_details: { cached_tokens: 0 }, output_tokens: 16, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: input + 16 },
    output: [{ type: 'message', id: `msg_${id}`, role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'ok', annotations: [] }] }],
  })
}
const post = (secret: string, body: Record<string, unknown>) =>
  fetch(`${gw.url}/v1/responses`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })

test('a gpt-4o context continued on gpt-4-turbo is held for, and billed, the input gpt-4-turbo reports', async () => {
  const { secret } = await gw.userWithKey({ id: 'rtll-tok', max_budget: 1 })
  upstream.answer(provider('resp_ll_tok_1'))
  expect((await post(secret, { model: 'plain:gpt-4o', max_output_tokens: 16, input: GUJARATI })).status).toBe(200)
  await gw.settled()
  upstream.answer(provider('resp_ll_tok_2'))
  const row = await settledRow(gw, 'rtll-tok', async () => {
    const res = await post(secret, { model: 'plain:gpt-4-turbo', previous_response_id: 'resp_ll_tok_1', input: 'સારાંશ આપો.', max_output_tokens: 16 })
    expect(res.status).toBe(200)
    await res.text()
  })
  expect(lastInput).toBeGreaterThan(4 * o200k(GUJARATI))
  // gpt-4-turbo at 10 µ$ an input token, 30 an output token: all the provider billed, none of it left unbilled.
  expect(row.prompt_tokens).toBe(lastInput)
  expect(row.cost).toBe(lastInput * 10 + 16 * 30)
  expect(row.reserved).toBeGreaterThanOrEqual(row.cost)
})
