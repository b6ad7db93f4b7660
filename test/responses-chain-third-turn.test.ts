import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, CAPPED_PLAIN_M, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'

/**
 * Mutation guard: a response chained on another (`previous_response_id`) is recorded at its whole context — the
 * stored context it continued plus its own input and output — since the provider bills all of it again to a third
 * request chained on it. A refactor recording only the turn's own growth (its size less the context it continued)
 * would hold the third request for a fraction of what the provider bills (cap-output then leaves the excess unbilled).
 * Rates: $1 per million input tokens, $2 per million output (1 and 2 µ$ a token).
 */
let upstream: ScriptedUpstream
let gw: TestGateway

withScriptedGateway(CAPPED_PLAIN_M, (started) => ({ upstream, gw } = started))

const usage = (input: number, output: number) => ({
  input_tokens: input, input_tokens_details: { cached_tokens: 0 }, output_tokens: output, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: input + output,
})
const answer = (id: string, input: number, output: number) => () =>
  jsonResponse({
    id, object: 'response', status: 'completed', model: 'm', usage: usage(input, output),
    output: [{ type: 'message', id: `msg_${id}`, role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'ok', annotations: [] }] }],
  })
const post = (secret: string, body: Record<string, unknown>) =>
  fetch(`${gw.url}/v1/responses`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })
const sizeOf = (id: string) => Number(gw.query<{ context_tokens: number }>('SELECT context_tokens FROM stored_responses WHERE id = ?', id)[0]?.context_tokens)

test('a third turn of a previous_response_id chain is held for the whole chain, and billed what the provider bills', async () => {
  const { secret } = await gw.userWithKey({ id: 'rtll-chain3', max_budget: 10 })
  upstream.answer(answer('resp_ll_a', 100_000, 10))
  expect((await post(secret, { model: 'plain:m', input: 'x'.repeat(100_000), max_output_tokens: 16 })).status).toBe(200)
  await gw.settled()
  expect(sizeOf('resp_ll_a')).toBe(100_010)

  // The provider reads resp_ll_a's 100,010 tokens again, with the new turn: 100,020 input.
  upstream.answer(answer('resp_ll_b', 100_020, 10))
  expect((await post(secret, { model: 'plain:m', input: 'go on', previous_response_id: 'resp_ll_a', max_output_tokens: 16 })).status).toBe(200)
  await gw.settled()
  // resp_ll_b's context is the whole chain: what its request was billed as input, and its output.
  expect(sizeOf('resp_ll_b')).toBe(100_030)

  // The third turn: the provider bills the whole chain (100,030) and the new turn as input.
  upstream.answer(answer('resp_ll_c', 100_040, 5))
  const third = await settledRow(gw, 'rtll-chain3', async () => {
    const res = await post(secret, { model: 'plain:m', input: 'and?', previous_response_id: 'resp_ll_b', max_output_tokens: 16 })
    expect(res.status).toBe(200)
    await res.text()
  })
  expect(third.reserved).toBeGreaterThanOrEqual(100_030 + 16 * 2)
  expect(third.prompt_tokens).toBe(100_040)
  expect(third.cost).toBe(100_040 + 5 * 2)
})
