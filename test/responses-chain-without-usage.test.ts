import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, CAPPED_PLAIN_M, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'

/**
 * Mutation guard: a chained response answered without a usage (an OpenAI-compatible server that omits it) is
 * recorded at its worst case — its request's held input, which includes the stored context it continued, and its
 * output bound. A refactor sizing it by its own input alone (the held input less the stored context) would hold the
 * next request in the chain for a fraction of what the provider reads again. Rates: 1 and 2 µ$ a token.
 */
let upstream: ScriptedUpstream
let gw: TestGateway

withScriptedGateway(CAPPED_PLAIN_M, (started) => ({ upstream, gw } = started))

const usage = (input: number, output: number) => ({
  input_tokens: input, input_tokens_details: { cached_tokens: 0 }, output_tokens: output, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: input + output,
})
const message = (id: string) => [{ type: 'message', id: `msg_${id}`, role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'ok', annotations: [] }] }]
const post = (secret: string, body: Record<string, unknown>) =>
  fetch(`${gw.url}/v1/responses`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })
const sizeOf = (id: string) => Number(gw.query<{ context_tokens: number }>('SELECT context_tokens FROM stored_responses WHERE id = ?', id)[0]?.context_tokens)

test('a chained response answered without usage keeps the context it continued: the next turn is held for the whole chain', async () => {
  const { secret } = await gw.userWithKey({ id: 'rtll-nousage', max_budget: 10 })
  upstream.answer(() => jsonResponse({ id: 'resp_ll_nu_a', object: 'response', status: 'completed', model: 'm', usage: usage(100_000, 10), output: message('a') }))
  expect((await post(secret, { model: 'plain:m', input: 'x'.repeat(100_000), max_output_tokens: 16 })).status).toBe(200)
  await gw.settled()
  expect(sizeOf('resp_ll_nu_a')).toBe(100_010)

  // Chained, answered with no usage: the provider keeps resp_ll_a's context in resp_ll_nu_b all the same.
  upstream.answer(() => jsonResponse({ id: 'resp_ll_nu_b', object: 'response', status: 'completed', model: 'm', output: message('b') }))
  expect((await post(secret, { model: 'plain:m', input: 'go on', previous_response_id: 'resp_ll_nu_a', max_output_tokens: 16 })).status).toBe(200)
  await gw.settled()
  expect(sizeOf('resp_ll_nu_b')).toBeGreaterThanOrEqual(100_010 + 16)

  // The third turn: the provider bills the whole chain as input.
  upstream.answer(() => jsonResponse({ id: 'resp_ll_nu_c', object: 'response', status: 'completed', model: 'm', usage: usage(100_040, 5), output: message('c') }))
  const third = await settledRow(gw, 'rtll-nousage', async () => {
    const res = await post(secret, { model: 'plain:m', input: 'and?', previous_response_id: 'resp_ll_nu_b', max_output_tokens: 16 })
    expect(res.status).toBe(200)
    await res.text()
  })
  expect(third.reserved).toBeGreaterThanOrEqual(100_040 + 16 * 2)
  expect(third.cost).toBe(100_040 + 5 * 2)
})
