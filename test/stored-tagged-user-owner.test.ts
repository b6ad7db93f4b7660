import { describe, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { CAPPED_PLAIN_M, jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * With `reject_user_mismatch` off (README: "off: billed to its own user, the value forwarded upstream as a tag"; a
 * key's `user_field: tag` does the same, as agents and coding clients need), a key's body may name any `user`: it
 * is only a tag. The stored ids the request may continue are still its own user's: a key naming another user as
 * its tag must get 404 for that user's response, as for one never made, with nothing sent upstream. `ownerFor`
 * gives a key's caller its own user whatever the body names; a refactor that read the named user first (as it does
 * for the master key) would hand any key every other user's stored chain, and no existing test runs in tag mode.
 */
let upstream: ScriptedUpstream
let gw: TestGateway

withScriptedGateway({ ...CAPPED_PLAIN_M, reject_user_mismatch: false }, (started) => ({ upstream, gw } = started))

const usage = { input_tokens: 10, input_tokens_details: { cached_tokens: 0 }, output_tokens: 5, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 15 }
const answer = (id: string) =>
  jsonResponse({
    id, object: 'response', status: 'completed', model: 'm', usage,
    output: [{ type: 'message', id: `msg_${id}`, role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'the launch code is 0000', annotations: [] }] }],
  })

const post = (secret: string, path: string, body: Record<string, unknown>) =>
  fetch(`${gw.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })

describe("a key's body naming another user (tag mode) reaches none of that user's stored ids", () => {
  test("previous_response_id of the tagged user's response is 404 response_not_found on the billed and the free route", async () => {
    const alice = await gw.userWithKey({ id: 'tag-alice', max_budget: 10 })
    const mallory = await gw.userWithKey({ id: 'tag-mallory', max_budget: 10 })

    upstream.answer(() => answer('resp_tag_alice'))
    const first = await post(alice.secret, '/v1/responses', { model: 'plain:m', input: 'Remember the launch code' })
    expect(first.status).toBe(200)
    await first.text()
    await gw.settled()
    expect(gw.query(`SELECT user_id FROM stored_responses WHERE id = 'resp_tag_alice'`)).toEqual([{ user_id: 'tag-alice' }])

    // Tag mode is on: Mallory's key naming Alice is served (billed to Mallory), not refused 403.
    upstream.answer(() => answer('resp_tag_mallory_own'))
    const tagged = await post(mallory.secret, '/v1/responses', { model: 'plain:m', input: 'hi', user: 'tag-alice' })
    expect(tagged.status).toBe(200)
    await tagged.text()
    await gw.settled()

    upstream.calls.length = 0
    upstream.answer(() => answer('resp_tag_mallory_chained'))
    for (const path of ['/v1/responses', '/v1/responses/input_tokens']) {
      const res = await post(mallory.secret, path, { model: 'plain:m', input: 'What was the code?', previous_response_id: 'resp_tag_alice', user: 'tag-alice' })
      const body = (await res.json()) as { error?: { code?: string } }
      expect({ path, status: res.status, code: body.error?.code }).toEqual({ path, status: 404, code: 'response_not_found' })
    }
    expect(upstream.calls.length).toBe(0)
  })
})
