import { describe, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, CAPPED_PLAIN_M, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * OpenAI returns a `file_search_call` item's `results` and a `code_interpreter_call` item's `outputs` only when the
 * request asks for them (`include: ["file_search_call.results"]`, `["code_interpreter_call.outputs"]`); otherwise
 * the item comes back with `results: null` / `outputs: null`. The provider keeps them all the same: named later by
 * reference, the stored item (with its results) goes back into the context and is billed as input. So such an
 * item is recorded at its whole response's size (its input and output tokens), not at the JSON returned, and a
 * request naming it is held for the results the provider re-reads.
 * Cap-output on: spend <= max_budget must hold (SPEC §6). Rates: 1 and 2 µ$ a token.
 */
let upstream: ScriptedUpstream
let gw: TestGateway

withScriptedGateway(CAPPED_PLAIN_M, (started) => ({ upstream, gw } = started))

const usage = (input: number, output: number) => ({
  input_tokens: input, input_tokens_details: { cached_tokens: 0 }, output_tokens: output, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: input + output,
})

const post = (secret: string, body: Record<string, unknown>) =>
  fetch(`${gw.url}/v1/responses`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })

async function referenceAfter(userId: string, item: Record<string, unknown>, reference: Record<string, unknown>, store?: boolean) {
  const { secret } = await gw.userWithKey({ id: userId, max_budget: 10 })
  // The first response searched: 100,000 tokens of retrieved chunks were its input; 40 output tokens. Without
  // `include`, the item comes back without what the tool brought in (as OpenAI answers by default).
  upstream.answer(() => jsonResponse({
    id: `resp_${userId}_1`, object: 'response', status: 'completed', model: 'm', usage: usage(100_050, 40),
    output: [
      item,
      { type: 'message', id: `msg_${userId}_1`, role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'found it', annotations: [] }] },
    ],
  }))
  const first = await post(secret, { model: 'plain:m', input: 'Search the docs', max_output_tokens: 64 })
  expect(first.status).toBe(200)
  await first.text()
  await gw.settled()

  // 20,000 µ$ left: far less than the 100,000 tokens the referenced item puts back in the context.
  const before = (await gw.admin('GET', `/v1/users/${userId}`)).body
  await gw.admin('PATCH', `/v1/users/${userId}`, { max_budget: Number((before.spend + 0.02).toFixed(6)) })
  upstream.calls.length = 0
  // The provider re-reads the stored item with its results: billed 100,020 input tokens.
  upstream.answer(() => jsonResponse({
    id: `resp_${userId}_2`, object: 'response', status: 'completed', model: 'm', usage: usage(100_020, 16),
    output: [{ type: 'message', id: `msg_${userId}_2`, role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'summary', annotations: [] }] }],
  }))
  const res = await post(secret, { model: 'plain:m', max_output_tokens: 16, ...(store === undefined ? {} : { store }), input: [reference, { role: 'user', content: 'Summarise what you found' }] })
  await res.text()
  await gw.settled()
  const user = (await gw.admin('GET', `/v1/users/${userId}`)).body
  return { res, user }
}

describe('an item whose tool results were not included in the answer is held for them when named by reference', () => {
  test('file_search_call returned with results: null, named by item_reference: spend stays within max_budget (cap-output on)', async () => {
    const item = { type: 'file_search_call', id: 'fs_left_out', status: 'completed', queries: ['everything'], results: null }
    const { res, user } = await referenceAfter('results-left-out-fs', item, { type: 'item_reference', id: 'fs_left_out' })
    expect(user.spend).toBeLessThanOrEqual(user.max_budget)
    expect(res.status).toBe(402)
    expect(upstream.calls.length).toBe(0)
  })

  test('code_interpreter_call returned with outputs: null, sent back by id (store: false): spend stays within max_budget (cap-output on)', async () => {
    const item = { type: 'code_interpreter_call', id: 'ci_left_out', status: 'completed', code: 'print(open("big.txt").read())', container_id: 'cntr_1', outputs: null }
    const { res, user } = await referenceAfter('results-left-out-ci', item, { type: 'code_interpreter_call', id: 'ci_left_out', code: 'print(open("big.txt").read())', container_id: 'cntr_1', status: 'completed' }, false)
    expect(user.spend).toBeLessThanOrEqual(user.max_budget)
    expect(res.status).toBe(402)
    expect(upstream.calls.length).toBe(0)
  })
})
