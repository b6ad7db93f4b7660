import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { sseResponse, CAPPED_PLAIN_M, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * Mutation guard: a turn of a conversation whose stream states its final usage twice, the second larger (a proxy's
 * restatement), is recorded twice (routes/responses.ts `record`): the conversation grows by what the turn adds, once —
 * the second write adds only what the first did not (`adds - added`). A refactor adding the turn's whole growth on each
 * write would inflate the conversation by a turn per restatement, and hold (refuse 402) every later turn for context
 * the provider never bills. Rates: 1 and 2 µ$ a token.
 */
let upstream: ScriptedUpstream
let gw: TestGateway

withScriptedGateway(CAPPED_PLAIN_M, (started) => ({ upstream, gw } = started))

const usage = (input: number, output: number) => ({
  input_tokens: input, input_tokens_details: { cached_tokens: 0 }, output_tokens: output, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: input + output,
})
const event = (e: Record<string, unknown>, i: number) => `event: ${String(e.type)}\ndata: ${JSON.stringify({ ...e, sequence_number: i })}\n\n`

test('a conversation turn whose final usage is restated larger grows the conversation once, to the larger size', async () => {
  const { secret } = await gw.userWithKey({ id: 'rtll-restated', max_budget: 10 })
  const response = (u: unknown) => ({ id: 'resp_ll_restated', object: 'response', status: 'completed', model: 'm', output: [], usage: u, conversation: { id: 'conv_ll_restated' } })
  upstream.answer(() => sseResponse([
    { type: 'response.created', response: { ...response(null), status: 'in_progress' } },
    { type: 'response.output_text.delta', item_id: 'm1', output_index: 0, content_index: 0, delta: 'ok' },
    { type: 'response.completed', response: response(usage(1_000, 10)) },
    { type: 'response.completed', response: response(usage(1_500, 20)) },
  ].map(event)))
  const res = await fetch(`${gw.url}/v1/responses`, {
    method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'plain:m', input: 'Hello', stream: true, max_output_tokens: 32 }),
  })
  expect(res.status).toBe(200)
  await res.text()
  await gw.settled()
  const size = (id: string) => gw.query<{ context_tokens: number }>('SELECT context_tokens FROM stored_responses WHERE id = ?', id)[0]?.context_tokens
  expect(size('resp_ll_restated')).toBe(1_520)
  // The provider's conversation holds this one turn: 1,520 tokens, not 1,010 + 1,520.
  expect(size('conv_ll_restated')).toBe(1_520)
})
