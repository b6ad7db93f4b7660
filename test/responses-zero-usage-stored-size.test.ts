import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, scriptedGateway, sseResponse, type ScriptedUpstream, postResponses } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'

/**
 * A stored response answered with output beside a usage of zeros (a proxy's zeros, a server that does not count):
 * the relay and the stream meter take that usage for none and charge the hold (usageBesideOutput in
 * src/translate/relay.ts, outputDeniedByUsage in src/metering/outcome.ts). The stored response's recorded size must
 * follow the same rule, sized with all the output it returned as one without usage is, not with the zeros: the
 * request that continues it (`previous_response_id`) is held for the whole answer the provider reads back in as
 * input (SPEC §6: the hold is the worst case). Before, it was held for no context at all (46 µ$).
 * Rates: 1 µ$ an input token, 2 µ$ an output token (scriptedGateway).
 */
const USER = 'responses-zero-usage-stored-size'
const TEXT = 'The quick brown fox jumps over the lazy dog. '.repeat(900) // 40,500 bytes
let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string
let stop: () => Promise<void>
beforeAll(async () => {
  ;({ upstream, gw, secret, stop } = await scriptedGateway(USER))
})
afterAll(() => stop())

const post = (body: unknown) => postResponses(gw, secret, body)
const zeros = { input_tokens: 0, output_tokens: 0, total_tokens: 0 }
const message = (id: string, text: string) => ({ id, type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text, annotations: [] }] })
const event = (e: Record<string, unknown>, i: number) => `event: ${String(e.type)}\ndata: ${JSON.stringify({ ...e, sequence_number: i })}\n\n`

/** The hold of a request continuing `responseId`, answered with zeros again. */
async function heldContinuing(responseId: string): Promise<number> {
  upstream.answer(() => jsonResponse({ id: `${responseId}_next`, object: 'response', status: 'completed', usage: zeros, output: [message(`msg_${responseId}_next`, 'ok')] }))
  const row = await settledRow(gw, USER, async () => {
    const res = await post({ model: 'plain:m', previous_response_id: responseId, input: 'Go on.', max_output_tokens: 16 })
    expect(res.status).toBe(200)
  })
  expect(upstream.calls.at(-1)!.body.previous_response_id).toBe(responseId)
  return row.reserved
}

test('a JSON answer: the response it continues is held for that output', async () => {
  upstream.answer(() => jsonResponse({ id: 'resp_zero_json', object: 'response', status: 'completed', usage: zeros, output: [message('msg_zero_json', TEXT)] }))
  expect((await post({ model: 'plain:m', input: 'Write a long text.', max_output_tokens: 100 })).status).toBe(200)
  // The 40,500 bytes of the first answer, at 1 µ$ a token at least.
  expect(await heldContinuing('resp_zero_json')).toBeGreaterThanOrEqual(TEXT.length)
})

describe('a stream', () => {
  test.each([
    ['its final event listing the output', 'listed', true, 100],
    ['its final event listing none, more output than its bound', 'unlisted', false, 100],
    ['its final event listing none, within its bound', 'unlisted_bound', false, 50_000],
  ])('%s: the response it continues is held for that output', async (_, name, listed, maxOutput) => {
    const id = `resp_zero_${name}`
    const item = message(`msg_zero_${name}`, TEXT)
    const response = { id, object: 'response', status: 'in_progress', output: [], usage: null }
    upstream.answer(() => sseResponse([
      { type: 'response.created', response },
      { type: 'response.output_item.added', output_index: 0, item: { ...item, status: 'in_progress', content: [] } },
      { type: 'response.content_part.added', item_id: item.id, output_index: 0, content_index: 0, part: { type: 'output_text', text: '', annotations: [] } },
      { type: 'response.output_text.delta', item_id: item.id, output_index: 0, content_index: 0, delta: TEXT },
      { type: 'response.output_item.done', output_index: 0, item },
      { type: 'response.completed', response: { ...response, status: 'completed', output: listed ? [item] : [], usage: zeros } },
    ].map(event)))
    const first = await post({ model: 'plain:m', input: 'Write a long text.', max_output_tokens: maxOutput, stream: true })
    expect(first.status).toBe(200)
    expect(await first.text()).toContain('response.completed')
    expect(await heldContinuing(id)).toBeGreaterThanOrEqual(TEXT.length)
  })
})
