import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, scriptedGateway, type ScriptedUpstream, postResponses } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'

/**
 * `DELETE /v1/responses/{id}` forgets the response and its items once the provider answered that it deleted it
 * (README, "How long ids are kept"): OpenAI's `{"id", "object": "response", "deleted": true}`. An item's row is what
 * makes a request naming it by id (with `store: false`) be held for it, so a 2xx that says no such thing (a proxy's
 * HTML page, `deleted: false`) forgets nothing: the provider may still keep the item, and the next request naming
 * it would reach the provider with no hold for it (SPEC §6). Rates: 1 µ$ an input token (scriptedGateway).
 */
const USER = 'responses-delete-unconfirmed'
const REASONING_TOKENS = 200_000
let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string
let stop: () => Promise<void>
beforeAll(async () => {
  ;({ upstream, gw, secret, stop } = await scriptedGateway(USER))
})
afterAll(() => stop())

const post = (body: unknown) => postResponses(gw, secret, body)

/** A stored response whose reasoning item holds 200,000 tokens of hidden reasoning. */
async function storeReasoning(responseId: string, itemId: string) {
  upstream.answer(() =>
    jsonResponse({ id: responseId, object: 'response', status: 'completed', output: [{ id: itemId, type: 'reasoning', summary: [] }], usage: { input_tokens: 10, output_tokens: REASONING_TOKENS } }),
  )
  expect((await post({ model: 'plain:m', input: 'think hard', max_output_tokens: REASONING_TOKENS })).status).toBe(200)
}

/** The hold of a request sending the item back by id alone, `store: false` (as the Agents SDK sends a stored response's output). */
async function heldSendingBack(itemId: string): Promise<number> {
  upstream.answer(() => jsonResponse({ id: `resp_after_${itemId}`, object: 'response', status: 'completed', output: [], usage: { input_tokens: REASONING_TOKENS + 20, output_tokens: 5 } }))
  const row = await settledRow(gw, USER, async () => {
    const res = await post({ model: 'plain:m', store: false, max_output_tokens: 16, input: [{ type: 'reasoning', id: itemId, summary: [] }, { role: 'user', content: 'go on' }] })
    expect(res.status).toBe(200)
  })
  return row.reserved
}

describe('a DELETE answered 2xx without saying it deleted the response', () => {
  test.each([
    ['an HTML page', 'page', () => new Response('<html><body>Request accepted</body></html>', { headers: { 'content-type': 'text/html' } }), '<html><body>Request accepted</body></html>'],
    ['deleted: false', 'false', () => jsonResponse({ id: 'x', object: 'response', deleted: false }), '{"id":"x","object":"response","deleted":false}'],
  ])('(%s) forgets nothing: an item the provider keeps is still held for, and the client gets the answer as it came', async (_, suffix, answer, body) => {
    const responseId = `resp_unconfirmed_${suffix}`
    const itemId = `rs_unconfirmed_${suffix}`
    await storeReasoning(responseId, itemId)

    upstream.answer(answer)
    const deleted = await fetch(`${gw.url}/v1/responses/${responseId}`, { method: 'DELETE', headers: { authorization: `Bearer ${secret}` } })
    expect({ status: deleted.status, body: await deleted.text() }).toEqual({ status: 200, body })
    expect(upstream.calls.at(-1)!.path).toBe(`/v1/responses/${responseId}`)

    // Held for the item as before the DELETE: at least its 200,000 tokens at 1 µ$ (before: 126 µ$).
    expect(await heldSendingBack(itemId)).toBeGreaterThanOrEqual(REASONING_TOKENS)
    expect((await post({ model: 'plain:m', previous_response_id: responseId, input: 'again', max_output_tokens: 16 })).status).not.toBe(404)
  })
})

test('a long 2xx answer is no deletion, and streams through whole', async () => {
  await storeReasoning('resp_long_answer', 'rs_long_answer')
  const page = `<html><body>${'x'.repeat(100_000)}</body></html>`
  upstream.answer(() => new Response(page, { headers: { 'content-type': 'text/html' } }))
  const deleted = await fetch(`${gw.url}/v1/responses/resp_long_answer`, { method: 'DELETE', headers: { authorization: `Bearer ${secret}` } })
  expect(await deleted.text()).toBe(page)
  expect(await heldSendingBack('rs_long_answer')).toBeGreaterThanOrEqual(REASONING_TOKENS)
})
