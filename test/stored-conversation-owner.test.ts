import { describe, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { CAPPED_PLAIN_M, jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * README / the route's OpenAPI text: "`previous_response_id`, `conversation` and a container named by id only for ids
 * the same user created (404 otherwise)". A conversation holds every turn of its creator's exchange: another user
 * naming its id must get the same 404 as an id never seen, before any hold and without the provider being called,
 * on a billed request and on the free `input_tokens` count alike. The existing suite checks only a conversation id
 * the gateway never saw (responses.test.ts), so a lookup that skipped the owner for conversations would pass it.
 */
let upstream: ScriptedUpstream
let gw: TestGateway

withScriptedGateway(CAPPED_PLAIN_M, (started) => ({ upstream, gw } = started))

const usage = { input_tokens: 10, input_tokens_details: { cached_tokens: 0 }, output_tokens: 5, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 15 }
const answer = (id: string) =>
  jsonResponse({
    id, object: 'response', status: 'completed', model: 'm', usage, conversation: { id: 'conv_owned_by_alice' },
    output: [{ type: 'message', id: `msg_${id}`, role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'secret plans', annotations: [] }] }],
  })

const post = (secret: string, path: string, body: Record<string, unknown>) =>
  fetch(`${gw.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })

describe('a conversation is reachable only by the user who made it', () => {
  test("another user's conversation id is 404 conversation_not_found, nothing held, nothing sent upstream", async () => {
    const alice = await gw.userWithKey({ id: 'alice', max_budget: 10 })
    const mallory = await gw.userWithKey({ id: 'mallory', max_budget: 10 })

    // Alice's first turn: the answer names the conversation it was stored in (as OpenAI's does when one is created
    // for it), and the gateway records the conversation for her.
    upstream.answer(() => answer('resp_alice_1'))
    const first = await post(alice.secret, '/v1/responses', { model: 'plain:m', input: 'Start' })
    expect(first.status).toBe(200)
    await first.text()
    await gw.settled()
    expect(gw.query(`SELECT user_id FROM stored_responses WHERE id = 'conv_owned_by_alice'`)).toEqual([{ user_id: 'alice' }])

    // Alice herself may go on in it (the owner check passes for the owner).
    upstream.answer(() => answer('resp_alice_2'))
    const own = await post(alice.secret, '/v1/responses', { model: 'plain:m', input: 'Go on', conversation: 'conv_owned_by_alice' })
    expect(own.status).toBe(200)
    await own.text()
    await gw.settled()

    upstream.calls.length = 0
    upstream.answer(() => answer('resp_mallory'))
    // Mallory names it on a billed request and on the free count, both spellings of `conversation`.
    for (const [path, conversation] of [
      ['/v1/responses', 'conv_owned_by_alice'],
      ['/v1/responses', { id: 'conv_owned_by_alice' }],
      ['/v1/responses/input_tokens', 'conv_owned_by_alice'],
    ] as const) {
      const res = await post(mallory.secret, path, { model: 'plain:m', input: 'What did we say?', conversation })
      const body = (await res.json()) as { error?: { code?: string } }
      expect({ path, status: res.status, code: body.error?.code }).toEqual({ path, status: 404, code: 'conversation_not_found' })
    }
    expect(upstream.calls.length).toBe(0)
    await gw.settled()
    const user = (await gw.admin('GET', '/v1/users/mallory')).body
    expect(user.spend).toBe(0)
    expect(user.reserved).toBe(0)
  })
})
