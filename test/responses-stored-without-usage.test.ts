import { describe, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { jsonResponse, scriptedProviders, sseResponse, CAPPED_PLAIN_M, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'

/**
 * With `store: false`, an item sent by its id alone is held for only if the gateway recorded it (routes/responses.ts
 * contextOf), on the premise that an item it did not record was never stored by the provider. So a stored
 * response's output items are recorded whether or not the answer carries a usage (an OpenAI-compatible server that
 * omits it; the gateway charges the estimate), and so are the items a stream finished before it was cut short of
 * its final event: sent back by id with `store: false`, such an item is held for what the provider re-reads.
 * Cap-output on: spend <= max_budget must hold (SPEC §6). Rates: 1 and 2 µ$ a token.
 */
let upstream: ScriptedUpstream
let gw: TestGateway

withScriptedGateway(CAPPED_PLAIN_M, (started) => ({ upstream, gw } = started))

const usage = (input: number, output: number) => ({
  input_tokens: input, input_tokens_details: { cached_tokens: 0 }, output_tokens: output, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: input + output,
})

const event = (e: Record<string, unknown>, i: number) => `event: ${String(e.type)}\ndata: ${JSON.stringify({ ...e, sequence_number: i })}\n\n`

const post = (secret: string, body: Record<string, unknown>) =>
  fetch(`${gw.url}/v1/responses`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })

describe('the items of a stored response answered without usage', () => {
  async function sentBackById(userId: string, firstAnswer: () => Response, stream: boolean) {
    const { secret } = await gw.userWithKey({ id: userId, max_budget: 10 })
    upstream.answer(firstAnswer)
    const first = await post(secret, { model: 'plain:m', input: 'Draw a cat', max_output_tokens: 64, ...(stream ? { stream: true } : {}) })
    expect(first.status).toBe(200)
    await first.text()
    await gw.settled()

    // 20,000 µ$ left: far less than the ~100,000 tokens the stored image is read back as.
    const before = (await gw.admin('GET', `/v1/users/${userId}`)).body
    await gw.admin('PATCH', `/v1/users/${userId}`, { max_budget: Number((before.spend + 0.02).toFixed(6)) })
    upstream.calls.length = 0
    upstream.answer(() => jsonResponse({
      id: `resp_${userId}_2`, object: 'response', status: 'completed', model: 'm', usage: usage(100_020, 16),
      output: [{ type: 'message', id: `msg_${userId}_2`, role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'bluer', annotations: [] }] }],
    }))
    const res = await post(secret, {
      model: 'plain:m', store: false, max_output_tokens: 16,
      input: [{ role: 'user', content: 'Make it blue' }, { type: 'image_generation_call', id: `ig_${userId}` }],
    })
    await res.text()
    await gw.settled()
    const user = (await gw.admin('GET', `/v1/users/${userId}`)).body
    expect(user.spend).toBeLessThanOrEqual(user.max_budget)
    expect([400, 402, 404]).toContain(res.status)
    expect(upstream.calls.length).toBe(0)
  }

  const image = 'A'.repeat(400_000) // the picture, base64: what the provider puts back in the context

  test('a generated image sent back by id with store: false is refused or held for (cap-output on)', () =>
    sentBackById('items-without-usage', () => jsonResponse({
      id: 'resp_items-without-usage', object: 'response', status: 'completed', model: 'm', usage: null,
      output: [{ type: 'image_generation_call', id: 'ig_items-without-usage', status: 'completed', result: image }],
    }), false))

  test('an image a stream finished before it was cut short of its final event: refused or held for (cap-output on)', () =>
    sentBackById('items-of-cut-stream', () => sseResponse([
      { type: 'response.created', response: { id: 'resp_items-of-cut-stream', object: 'response', status: 'in_progress', model: 'm', output: [], usage: null } },
      { type: 'response.output_item.done', output_index: 0, item: { type: 'image_generation_call', id: 'ig_items-of-cut-stream', status: 'completed', result: image } },
    ].map(event)), true))
})

/**
 * A stream cut before its usage is re-sized at its end with every byte of output it delivered, past its bound too
 * (recordEnd). A JSON answer without usage is not: `record` sizes it at `heldInput + estimate.outputTokens`
 * (routes/responses.ts:153) though its whole output is in hand (`itemBytes`, used only for its bytes), so a chain
 * on the same model (held at the row's tokens, not its bytes) is held for 64 output tokens of a 20,000-token answer.
 * Mirrors responses-context.test.ts 'cut after more output than its bound (no max sent upstream)'.
 */
describe('a stored response answered as JSON without usage is sized with all its output', () => {
  test('more output than its bound (no max sent upstream): the chained request is held for it', async () => {
    const uncapped = await startTestGateway({
      config: { providers: scriptedProviders(upstream), pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2 } }, default_max_output_tokens: 64 },
    })
    try {
      const { secret } = await uncapped.userWithKey({ id: 'json-without-usage', max_budget: 10 })
      upstream.answer(() => jsonResponse({
        id: 'resp_json_nousage_long', object: 'response', status: 'completed', model: 'm', usage: null,
        output: [{ type: 'message', id: 'msg_json_nousage_long', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'w'.repeat(20_000), annotations: [] }] }],
      }))
      await settledRow(uncapped, 'json-without-usage', async () => {
        const res = await fetch(`${uncapped.url}/v1/responses`, {
          method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'plain:m', input: 'Write at length.' }),
        })
        expect(res.status).toBe(200)
        await res.text()
      })
      // The provider bills the stored input and its 20,000-token output again.
      upstream.answer(() => jsonResponse({
        id: 'resp_json_nousage_next', object: 'response', status: 'completed', model: 'm', usage: usage(20_030, 5),
        output: [{ type: 'message', id: 'msg_json_nousage_next', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'ok', annotations: [] }] }],
      }))
      const next = await settledRow(uncapped, 'json-without-usage', async () => {
        const res = await fetch(`${uncapped.url}/v1/responses`, {
          method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'plain:m', input: 'Go on.', previous_response_id: 'resp_json_nousage_long', max_output_tokens: 16 }),
        })
        expect(res.status).toBe(200)
        await res.text()
      })
      expect(next.reserved).toBeGreaterThanOrEqual(next.cost)
    } finally {
      await uncapped.stop()
    }
  })
})
