import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, CAPPED_PLAIN_M, type ScriptedUpstream, withScriptedGateway, postResponses } from './support/scripted-upstream'

/**
 * A stored response keeps its INPUT items too, each under an id the provider gives it, which the client can list
 * through the gateway (`GET /v1/responses/{id}/input_items`); the gateway records only output items. So an item
 * sent by its id alone that the gateway never recorded may be a stored input of any size, which the provider
 * reads again and bills as input, whatever this request's `store` says: refused (404 `item_not_found`) before any
 * call, as with store on, or a 300,000-token input paid once is read again on every `store: false` request, each
 * held for a few bytes, and spend passes max_budget with cap-output on (SPEC §6). The same item sent with its
 * content is read from the body, and goes through.
 * Rates: $1 per million input, $2 per million output.
 */
let upstream: ScriptedUpstream
let gw: TestGateway

withScriptedGateway(CAPPED_PLAIN_M, (started) => ({ upstream, gw } = started))

const usage = (input: number, output: number) => ({
  input_tokens: input, input_tokens_details: { cached_tokens: 0 }, output_tokens: output, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: input + output,
})
const answer = (id: string, u: ReturnType<typeof usage>) =>
  jsonResponse({
    id, object: 'response', status: 'completed', model: 'm', usage: u,
    output: [{ type: 'message', id: `msg_out_${id}`, role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'ok', annotations: [] }] }],
  })

test('store: false naming an earlier stored response\'s input item by id alone is refused before any call: spend never passes max_budget', async () => {
  const { secret } = await gw.userWithKey({ id: 'store-false-input-item', max_budget: 10 })
  const post = (body: Record<string, unknown>) => postResponses(gw, secret, body)
  const big = 'x'.repeat(300_000)
  // Turn 1 (store on): the provider stores the response and its input item `msg_in_big`.
  upstream.answer((call) =>
    call.path.endsWith('/input_items')
      ? jsonResponse({ object: 'list', data: [{ id: 'msg_in_big', type: 'message', role: 'user', status: 'completed', content: [{ type: 'input_text', text: big }] }], first_id: 'msg_in_big', last_id: 'msg_in_big', has_more: false })
      : answer('resp_in_1', usage(300_008, 5)),
  )
  const first = await post({ model: 'plain:m', input: big, max_output_tokens: 16 })
  expect(first.status).toBe(200)
  await first.text()
  // The client learns the input item's id through the gateway itself.
  const listed = await fetch(`${gw.url}/v1/responses/resp_in_1/input_items`, { headers: { authorization: `Bearer ${secret}` } })
  expect(listed.status).toBe(200)
  expect(((await listed.json()) as { data: Array<{ id: string }> }).data[0]!.id).toBe('msg_in_big')
  await gw.settled()

  // $0.05 left: the stored 300,000 tokens cost $0.30 to read again.
  const spent = (await gw.admin('GET', '/v1/users/store-false-input-item')).body.spend
  await gw.admin('PATCH', '/v1/users/store-false-input-item', { max_budget: Number((spent + 0.05).toFixed(6)) })
  upstream.calls.length = 0
  // The provider resolves the stored input item by its id and bills it as input again.
  upstream.answer(() => answer(`resp_sf_${crypto.randomUUID()}`, usage(300_020, 5)))
  const res = await post({ model: 'plain:m', store: false, max_output_tokens: 16, input: [{ type: 'message', role: 'user', id: 'msg_in_big' }, { role: 'user', content: 'again' }] })
  expect({ status: res.status, code: ((await res.json()) as { error: { code: string } }).error.code }).toEqual({ status: 404, code: 'item_not_found' })
  await gw.settled()
  const user = (await gw.admin('GET', '/v1/users/store-false-input-item')).body
  expect(user.spend).toBeLessThanOrEqual(user.max_budget)
  expect(upstream.calls.length).toBe(0)

  // With its content the item is read from the body, which the hold counts: served.
  upstream.answer(() => answer(`resp_sf_${crypto.randomUUID()}`, usage(20, 5)))
  const withContent = await post({ model: 'plain:m', store: false, max_output_tokens: 16, input: [{ type: 'message', role: 'user', id: 'msg_in_big', content: 'short now' }] })
  expect(withContent.status).toBe(200)
  await withContent.text()
  expect(upstream.calls.length).toBe(1)
})
