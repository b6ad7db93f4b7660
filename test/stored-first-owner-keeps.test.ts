import { describe, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { CAPPED_PLAIN_M, jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * ResponseOwners (src/records/response-owners.ts): "The first user to record an id keeps it." A provider (or a caching
 * proxy in front of one) that answers a second user with an id the gateway already recorded for the first must not
 * move that id to the second user: the first would lose their own response and conversation (404 on their own
 * chain), and the second would gain the first's stored context (its GET, input_items, and every chained request read
 * the first user's turns). Kept in the store's upsert (`ON CONFLICT (id) DO UPDATE ... WHERE user_id = excluded.user_id`);
 * no existing test records one id for two users.
 */
let upstream: ScriptedUpstream
let gw: TestGateway

withScriptedGateway(CAPPED_PLAIN_M, (started) => ({ upstream, gw } = started))

const usage = { input_tokens: 10, input_tokens_details: { cached_tokens: 0 }, output_tokens: 5, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 15 }
const answer = (id: string, extra: Record<string, unknown> = {}) =>
  jsonResponse({
    id, object: 'response', status: 'completed', model: 'm', usage, ...extra,
    output: [{ type: 'message', id: `msg_${crypto.randomUUID()}`, role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'ok', annotations: [] }] }],
  })

const call = (secret: string, method: string, path: string, body?: Record<string, unknown>) =>
  fetch(`${gw.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${secret}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  })

async function status(res: Promise<Response>): Promise<number> {
  const r = await res
  await r.text()
  return r.status
}

describe('an id recorded for one user stays theirs when a provider hands it to another', () => {
  test('a response id answered again to another user: still the first user\'s, 404 to the second', async () => {
    const first = await gw.userWithKey({ id: 'first', max_budget: 10 })
    const second = await gw.userWithKey({ id: 'second', max_budget: 10 })

    upstream.answer(() => answer('resp_collide'))
    expect(await status(call(first.secret, 'POST', '/v1/responses', { model: 'plain:m', input: 'x'.repeat(20_000) }))).toBe(200)
    await gw.settled()
    const sized = gw.query(`SELECT user_id, context_tokens, context_bytes FROM stored_responses WHERE id = 'resp_collide'`)
    // The provider answers the second user with the same id (a cache in front of it replaying an answer).
    expect(await status(call(second.secret, 'POST', '/v1/responses', { model: 'plain:m', input: 'mine' }))).toBe(200)
    await gw.settled()
    expect(sized[0].user_id).toBe('first')
    // Neither its owner nor its size (what the first user's chained requests are held for) is the second user's.
    expect(gw.query(`SELECT user_id, context_tokens, context_bytes FROM stored_responses WHERE id = 'resp_collide'`)).toEqual(sized)

    upstream.calls.length = 0
    upstream.answer(() => answer('resp_collide'))
    expect(await status(call(second.secret, 'GET', '/v1/responses/resp_collide'))).toBe(404)
    expect(upstream.calls.length).toBe(0)
    expect(await status(call(first.secret, 'GET', '/v1/responses/resp_collide'))).toBe(200)
  })

  test('a conversation named in another user\'s answer: still the first user\'s, 404 to the second', async () => {
    const first = await gw.userWithKey({ id: 'conv-first', max_budget: 10 })
    const second = await gw.userWithKey({ id: 'conv-second', max_budget: 10 })

    upstream.answer(() => answer(`resp_${crypto.randomUUID()}`, { conversation: { id: 'conv_collide' } }))
    expect(await status(call(first.secret, 'POST', '/v1/responses', { model: 'plain:m', input: 'start' }))).toBe(200)
    await gw.settled()
    expect(await status(call(second.secret, 'POST', '/v1/responses', { model: 'plain:m', input: 'start' }))).toBe(200)
    await gw.settled()
    expect(gw.query(`SELECT user_id FROM stored_responses WHERE id = 'conv_collide'`)).toEqual([{ user_id: 'conv-first' }])

    upstream.calls.length = 0
    expect(await status(call(second.secret, 'POST', '/v1/responses', { model: 'plain:m', input: 'go on', conversation: 'conv_collide' }))).toBe(404)
    expect(upstream.calls.length).toBe(0)
    expect(await status(call(first.secret, 'POST', '/v1/responses', { model: 'plain:m', input: 'go on', conversation: 'conv_collide' }))).toBe(200)
  })
})
