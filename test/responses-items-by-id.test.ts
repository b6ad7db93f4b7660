import { describe, expect, test } from 'bun:test'
import { isItemById } from '../src/translate/responses/input-items'
import type { TestGateway } from './support/gateway'
import { jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * An input item sent back by its id without its content is a stored item by reference, as `item_reference`
 * is: OpenAI's image generation guide ("multi-turn editing, using image ID") sends a generated image back as
 * `{type: "image_generation_call", id: "ig_…"}` with no `result`, and with `store` on OpenAI looks the id up
 * among the items it stored and puts the image in the context again, billed as input. Such an item must be
 * the caller's (404 otherwise, before any call) and is held at its stored size (cap-output's `spend <=
 * max_budget`), whatever its type (a reasoning item's rule, test/responses-reasoning-by-id.test.ts). Any
 * input item whose id the gateway recorded is the caller's only, content or not; an item by id the gateway never
 * recorded is refused (its size is unknown), `store: false` or not: an earlier stored response's input items are
 * read by id all the same.
 * Rates: $1 per million input tokens, $2 per million output (1 and 2 µ$ a token); $0.04 an image.
 */
let upstream: ScriptedUpstream
let gw: TestGateway

withScriptedGateway(
  {
    pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2, server_tools: { image_generation: 0.04 } } },
    cap_output_tokens: true,
    default_max_output_tokens: 64,
  },
  (started) => ({ upstream, gw } = started),
)

const usage = (input: number, output: number) => ({
  input_tokens: input, input_tokens_details: { cached_tokens: 0 }, output_tokens: output, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: input + output,
})

/** A stored response that drew a picture: its `image_generation_call` item `igId` carries the image (300,000 base64 characters). */
const drewPicture = (respId: string, igId: string) =>
  jsonResponse({
    id: respId, object: 'response', status: 'completed', model: 'm', usage: usage(20, 100),
    output: [{ type: 'image_generation_call', id: igId, status: 'completed', result: 'iVBORw0KGgo'.padEnd(300_000, 'A') }],
  })

const post = (secret: string, body: Record<string, unknown>) =>
  fetch(`${gw.url}/v1/responses`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })

describe('an image_generation_call sent back by its id alone is a stored item by reference', () => {
  test("another user's generated image, named by id, is 404 before the provider is called", async () => {
    const { secret: owner } = await gw.userWithKey({ id: 'ig-owner', max_budget: 10 })
    const { secret: other } = await gw.userWithKey({ id: 'ig-other', max_budget: 10 })
    upstream.answer(() => drewPicture('resp_ig_owner', 'ig_owner_1'))
    expect((await post(owner, { model: 'plain:m', input: 'Draw my private document', tools: [{ type: 'image_generation' }] })).status).toBe(200)
    await gw.settled()
    upstream.calls.length = 0

    // As an item_reference the gateway refuses it already...
    const byReference = await post(other, { model: 'plain:m', input: [{ role: 'user', content: 'Describe this picture' }, { type: 'item_reference', id: 'ig_owner_1' }] })
    await byReference.text()
    expect(byReference.status).toBe(404)
    // ...as the typed item by id, which OpenAI resolves from the same store, it must be too.
    upstream.answer(() => jsonResponse({
      id: 'resp_ig_leak', object: 'response', status: 'completed', model: 'm', usage: usage(1_700, 16),
      output: [{ type: 'message', id: 'msg_ig_leak', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'It shows…', annotations: [] }] }],
    }))
    const byItem = await post(other, { model: 'plain:m', input: [{ role: 'user', content: 'Describe this picture' }, { type: 'image_generation_call', id: 'ig_owner_1' }] })
    await byItem.text()
    expect(byItem.status).toBe(404)
    expect(upstream.calls.length).toBe(0)
  })

  test('held at least as an image: the owner with 1,000 µ$ left cannot have the stored image read again for 1,700 input tokens (cap-output on)', async () => {
    const { secret } = await gw.userWithKey({ id: 'ig-hold', max_budget: 10 })
    upstream.answer(() => drewPicture('resp_ig_hold', 'ig_hold_1'))
    expect((await post(secret, { model: 'plain:m', input: 'Draw a cat', tools: [{ type: 'image_generation' }] })).status).toBe(200)
    await gw.settled()
    const spent = (await gw.admin('GET', '/v1/users/ig-hold')).body.spend
    await gw.admin('PATCH', '/v1/users/ig-hold', { max_budget: Number((spent + 0.001).toFixed(6)) }) // 1,000 µ$ left
    upstream.calls.length = 0

    // The provider puts the 1024x1024 image back in the context: ~1,659 image tokens (gpt-5-mini's patches) and the text.
    upstream.answer(() => jsonResponse({
      id: 'resp_ig_hold2', object: 'response', status: 'completed', model: 'm', usage: usage(1_700, 16),
      output: [{ type: 'message', id: 'msg_ig_hold2', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'A cat.', annotations: [] }] }],
    }))
    const res = await post(secret, {
      model: 'plain:m',
      max_output_tokens: 16,
      input: [{ role: 'user', content: 'Describe this picture' }, { type: 'image_generation_call', id: 'ig_hold_1' }],
    })
    await res.text()
    await gw.settled()
    const user = (await gw.admin('GET', '/v1/users/ig-hold')).body
    // Cap-output's invariant: never more spent than the budget.
    expect(Math.round(user.spend * 1e6)).toBeLessThanOrEqual(Math.round(user.max_budget * 1e6))
    expect(res.status).toBe(402)
    expect(upstream.calls.length).toBe(0)
  })
})

describe('an input item with an id', () => {
  test("any item with an id the gateway recorded is its user's only, even sent with its content; /input_tokens too", async () => {
    const { secret: owner } = await gw.userWithKey({ id: 'msg-owner', max_budget: 10 })
    const { secret: other } = await gw.userWithKey({ id: 'msg-other', max_budget: 10 })
    upstream.answer(() => jsonResponse({
      id: 'resp_msg_owner', object: 'response', status: 'completed', model: 'm', usage: usage(20, 10),
      output: [{ type: 'message', id: 'msg_owner_1', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'secret', annotations: [] }] }],
    }))
    expect((await post(owner, { model: 'plain:m', input: 'Tell me a secret' })).status).toBe(200)
    await gw.settled()
    upstream.calls.length = 0
    const input = [{ type: 'message', id: 'msg_owner_1', role: 'assistant', content: [{ type: 'output_text', text: 'secret' }] }, { role: 'user', content: 'go on' }]
    const byOther = await post(other, { model: 'plain:m', input })
    await byOther.text()
    expect(byOther.status).toBe(404)
    const counted = await fetch(`${gw.url}/v1/responses/input_tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${other}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'plain:m', input: [{ type: 'image_generation_call', id: 'msg_owner_1' }] }),
    })
    expect(counted.status).toBe(404)
    expect(upstream.calls.length).toBe(0)

    // The owner sends it with its content: counted with the body, not held again.
    upstream.answer(() => jsonResponse({
      id: 'resp_msg_owner2', object: 'response', status: 'completed', model: 'm', usage: usage(30, 10),
      output: [{ type: 'message', id: 'msg_owner_2', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'ok', annotations: [] }] }],
    }))
    const byOwner = await post(owner, { model: 'plain:m', input })
    await byOwner.text()
    expect(byOwner.status).toBe(200)
  })

  test('an item by id the gateway never recorded: 404 (its size is unknown), store: false or not', async () => {
    const { secret } = await gw.userWithKey({ id: 'ig-unknown', max_budget: 10 })
    const input = [{ role: 'user', content: 'Make it blue' }, { type: 'image_generation_call', id: 'ig_made_elsewhere' }]
    for (const store of [undefined, false]) {
      const res = await post(secret, { model: 'plain:m', store, input })
      await res.text()
      expect({ store, status: res.status }).toEqual({ store, status: 404 })
    }
    expect(upstream.calls.length).toBe(0)

    upstream.answer(() => jsonResponse({
      id: 'resp_ig_unstored', object: 'response', status: 'completed', model: 'm', usage: usage(40, 16),
      output: [{ type: 'message', id: 'msg_ig_unstored', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'ok', annotations: [] }] }],
    }))
    // With its content, an id the gateway never saw is the provider's business.
    const withContent = await post(secret, {
      model: 'plain:m',
      input: [{ type: 'function_call', id: 'fc_elsewhere', call_id: 'call_1', name: 'f', arguments: '{}' }, { type: 'function_call_output', call_id: 'call_1', output: '' }],
    })
    await withContent.text()
    expect(withContent.status).toBe(200)
    expect(upstream.calls.length).toBe(1)
  })
})

describe('which items name a stored item by their id', () => {
  test('an item whose content field is missing, or of another type with nothing but type, id and status', () => {
    expect(isItemById({ type: 'image_generation_call', id: 'ig_1' })).toBe(true)
    expect(isItemById({ type: 'image_generation_call', id: 'ig_1', status: 'completed', result: '' })).toBe(true)
    expect(isItemById({ type: 'image_generation_call', id: 'ig_1', result: 'iVBORw0KGgo' })).toBe(false)
    expect(isItemById({ type: 'reasoning', id: 'rs_1', summary: [] })).toBe(true)
    expect(isItemById({ type: 'reasoning', id: 'rs_1', summary: [], encrypted_content: null })).toBe(true)
    expect(isItemById({ type: 'reasoning', id: 'rs_1', summary: [], encrypted_content: 'gAAAA' })).toBe(false)
    expect(isItemById({ type: 'function_call', id: 'fc_1', call_id: 'c', name: 'f' })).toBe(true)
    expect(isItemById({ type: 'function_call', id: 'fc_1', call_id: 'c', name: 'f', arguments: '{}' })).toBe(false)
    expect(isItemById({ role: 'assistant', id: 'msg_1' })).toBe(true)
    expect(isItemById({ role: 'assistant', id: 'msg_1', content: '' })).toBe(false)
    expect(isItemById({ type: 'mcp_call', id: 'mcp_1', name: 't', arguments: '{}' })).toBe(true)
    expect(isItemById({ type: 'function_call_output', id: 'fco_1', call_id: 'c', output: '' })).toBe(false)
    expect(isItemById({ type: 'some_new_call', id: 'x_1', status: 'completed' })).toBe(true)
    expect(isItemById({ type: 'some_new_call', id: 'x_1', payload: {} })).toBe(false)
    expect(isItemById({ type: 'message', role: 'user', content: 'hi' })).toBe(false)
  })
})
