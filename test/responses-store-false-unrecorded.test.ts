import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, CAPPED_PLAIN_M, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * Mutation guard: a response made with `store: false` (and no conversation) is not kept by the provider, so the
 * gateway records no id for it (README: a `previous_response_id` naming one — among "responses made with
 * `store: false`" — gets 404 `response_not_found` before the provider is called). A refactor recording it anyway
 * would let a chained request through to a paid call the provider cannot serve, and fill stored_responses.
 */
let upstream: ScriptedUpstream
let gw: TestGateway

withScriptedGateway(CAPPED_PLAIN_M, (started) => ({ upstream, gw } = started))

const post = (secret: string, body: Record<string, unknown>) =>
  fetch(`${gw.url}/v1/responses`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })

test('a store:false response is not recorded: chaining on it is 404 response_not_found before any call', async () => {
  const { secret } = await gw.userWithKey({ id: 'rtll-nostore', max_budget: 10 })
  upstream.answer(() =>
    jsonResponse({
      id: 'resp_ll_nostore', object: 'response', status: 'completed', model: 'm', store: false,
      usage: { input_tokens: 12, input_tokens_details: { cached_tokens: 0 }, output_tokens: 2, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 14 },
      output: [{ type: 'message', id: 'msg_ll_nostore', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'ok', annotations: [] }] }],
    }),
  )
  expect((await post(secret, { model: 'plain:m', input: 'Hello', store: false, max_output_tokens: 16 })).status).toBe(200)
  await gw.settled()
  expect(gw.query(`SELECT id FROM stored_responses WHERE id IN ('resp_ll_nostore', 'msg_ll_nostore')`)).toEqual([])

  const calls = upstream.calls.length
  const res = await post(secret, { model: 'plain:m', input: 'go on', previous_response_id: 'resp_ll_nostore', max_output_tokens: 16 })
  expect(res.status).toBe(404)
  expect(((await res.json()) as { error: { code: string } }).error.code).toBe('response_not_found')
  expect(upstream.calls.length).toBe(calls)
})
