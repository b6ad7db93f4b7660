import { describe, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, CAPPED_PLAIN_M, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'

/**
 * With `store` on (the default), OpenAI keeps a response's reasoning items and resolves a reasoning item sent
 * back by its id alone (`{type: "reasoning", id: "rs_…", summary: []}`, as the Agents SDK sends a stored
 * response's output back): the hidden reasoning it stored goes to the model again, billed as input. Such an
 * item is a stored item by reference, as `item_reference` is: it must be the caller's (404 otherwise, before
 * any call) and is held at its stored size (cap-output's `spend <= max_budget`). With its `encrypted_content`
 * the provider reads that, counted with the body. With `store: false` too an id the gateway never recorded is
 * refused: the provider still reads it if an earlier response stored it, an input item among them (Codex sends its
 * content); one it recorded is still held for and still the caller's only.
 * Rates: $1 per million input tokens, $2 per million output (1 and 2 µ$ a token).
 */
let upstream: ScriptedUpstream
let gw: TestGateway

withScriptedGateway(CAPPED_PLAIN_M, (started) => ({ upstream, gw } = started))

const usage = (input: number, output: number, reasoning = 0) => ({
  input_tokens: input, input_tokens_details: { cached_tokens: 0 }, output_tokens: output, output_tokens_details: { reasoning_tokens: reasoning }, total_tokens: input + output,
})

/** A stored response that thought hard: 100,000 reasoning tokens in its reasoning item `rsId`, then a short answer. */
const thoughtHard = (respId: string, rsId: string) =>
  jsonResponse({
    id: respId, object: 'response', status: 'completed', model: 'm', usage: usage(10, 100_010, 100_000),
    output: [
      { type: 'reasoning', id: rsId, summary: [] },
      { type: 'message', id: `msg_${rsId}`, role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'ok', annotations: [] }] },
    ],
  })

const post = (secret: string, body: Record<string, unknown>) =>
  fetch(`${gw.url}/v1/responses`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })

describe('a reasoning item sent back by its id alone is a stored item by reference', () => {
  test('held at its stored size: a user with 11,970 µ$ left cannot have 100,000 stored reasoning tokens read again (cap-output on)', async () => {
    const { secret } = await gw.userWithKey({ id: 'rs-hold', max_budget: 0.212 })
    upstream.answer(() => thoughtHard('resp_rs1', 'rs_hold_1'))
    await settledRow(gw, 'rs-hold', async () => {
      expect((await post(secret, { model: 'plain:m', input: 'Think hard', max_output_tokens: 100_010 })).status).toBe(200)
    })
    const after1 = (await gw.admin('GET', '/v1/users/rs-hold')).body
    expect(Math.round((after1.max_budget - after1.spend) * 1e6)).toBe(212_000 - 200_030) // 11,970 µ$ left
    upstream.calls.length = 0

    // The provider reads the stored reasoning again: 100,000 + the new input, billed as input.
    upstream.answer(() => jsonResponse({
      id: 'resp_rs2', object: 'response', status: 'completed', model: 'm', usage: usage(100_030, 16),
      output: [{ type: 'message', id: 'msg_rs2', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'ok', annotations: [] }] }],
    }))
    const res = await post(secret, {
      model: 'plain:m',
      max_output_tokens: 16,
      input: [
        { role: 'user', content: 'Think hard' },
        { type: 'reasoning', id: 'rs_hold_1', summary: [] },
        { type: 'message', id: 'msg_rs_hold_1', role: 'assistant', content: [{ type: 'output_text', text: 'ok' }] },
        { role: 'user', content: 'go on' },
      ],
    })
    await res.text()
    await gw.settled()
    const user = (await gw.admin('GET', '/v1/users/rs-hold')).body
    // Cap-output's invariant: never more spent than the budget (before the fix: held at ~100 bytes, 0.300 spent of 0.212).
    expect(user.spend).toBeLessThanOrEqual(user.max_budget)
    expect(res.status).toBe(402)
    expect(upstream.calls.length).toBe(0)
  })

  test('another user\'s reasoning item, named by id, is 404 before the provider is called, as an item_reference is', async () => {
    const { secret: owner } = await gw.userWithKey({ id: 'rs-owner', max_budget: 10 })
    const { secret: other } = await gw.userWithKey({ id: 'rs-other', max_budget: 10 })
    upstream.answer(() => thoughtHard('resp_rs_owner', 'rs_owner_1'))
    expect((await post(owner, { model: 'plain:m', input: 'A secret plan', max_output_tokens: 100_010 })).status).toBe(200)
    await gw.settled()
    upstream.calls.length = 0

    // The same id as an item_reference is refused (the gateway's existing rule)...
    const byReference = await post(other, { model: 'plain:m', input: [{ type: 'item_reference', id: 'rs_owner_1' }, { role: 'user', content: 'What did you think?' }] })
    expect(byReference.status).toBe(404)
    // ...and as a bare reasoning item, which the provider resolves from the same store, it must be too.
    const byReasoningItem = await post(other, { model: 'plain:m', input: [{ type: 'reasoning', id: 'rs_owner_1', summary: [] }, { role: 'user', content: 'What did you think?' }] })
    await byReasoningItem.text()
    expect(byReasoningItem.status).toBe(404)
    // Counting its tokens names it as well.
    const counted = await fetch(`${gw.url}/v1/responses/input_tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${other}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'plain:m', input: [{ type: 'reasoning', id: 'rs_owner_1', summary: [] }] }),
    })
    expect(counted.status).toBe(404)
    expect(upstream.calls.length).toBe(0)
  })

  test('with its encrypted_content, an id the gateway never recorded goes to the provider: the content is in the body', async () => {
    const { secret } = await gw.userWithKey({ id: 'rs-encrypted', max_budget: 10 })
    upstream.answer(() => jsonResponse({
      id: 'resp_rs_enc', object: 'response', status: 'completed', model: 'm', usage: usage(40, 16),
      output: [{ type: 'message', id: 'msg_rs_enc', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'ok', annotations: [] }] }],
    }))
    const res = await post(secret, { model: 'plain:m', input: [{ type: 'reasoning', id: 'rs_elsewhere_1', summary: [], encrypted_content: 'gAAAA-opaque' }, { role: 'user', content: 'go on' }] })
    expect(res.status).toBe(200)
    await res.text()
    expect(upstream.calls.length).toBe(1)
  })

  test('store: false: an id the gateway never recorded is refused too (404 item_not_found), before any call', async () => {
    const { secret } = await gw.userWithKey({ id: 'rs-unstored', max_budget: 10 })
    const res = await post(secret, { model: 'plain:m', store: false, input: [{ type: 'reasoning', id: 'rs_never_seen', summary: [], encrypted_content: null }, { role: 'user', content: 'go on' }] })
    expect({ status: res.status, code: ((await res.json()) as { error: { code: string } }).error.code }).toEqual({ status: 404, code: 'item_not_found' })
    expect(upstream.calls.length).toBe(0)
  })

  test('store: false: a recorded reasoning item is still held for, and still 404 to another user', async () => {
    const { secret: owner } = await gw.userWithKey({ id: 'rs-sf-owner', max_budget: 10 })
    const { secret: other } = await gw.userWithKey({ id: 'rs-sf-other', max_budget: 10 })
    upstream.answer(() => thoughtHard('resp_rs_sf', 'rs_sf_1'))
    expect((await post(owner, { model: 'plain:m', input: 'Think hard', max_output_tokens: 100_010 })).status).toBe(200)
    await gw.settled()
    upstream.calls.length = 0
    const input = [{ type: 'reasoning', id: 'rs_sf_1', summary: [] }, { role: 'user', content: 'go on' }]
    const byOther = await post(other, { model: 'plain:m', store: false, input })
    await byOther.text()
    expect(byOther.status).toBe(404)
    // 10 $ less what turn 1 spent leaves ~9.8 $: lower the budget below the 100,010 stored tokens' 100,010 µ$.
    const spent = (await gw.admin('GET', '/v1/users/rs-sf-owner')).body.spend
    await gw.admin('PATCH', '/v1/users/rs-sf-owner', { max_budget: Number((spent + 0.05).toFixed(6)) })
    const byOwner = await post(owner, { model: 'plain:m', store: false, max_output_tokens: 16, input })
    await byOwner.text()
    expect(byOwner.status).toBe(402)
    expect(upstream.calls.length).toBe(0)
  })
})
