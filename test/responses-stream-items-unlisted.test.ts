import { afterAll, beforeAll, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, scriptedGateway, sseResponse, type ScriptedUpstream, postResponses } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'

/**
 * With `store: false`, an item sent back by its id alone is held for only if the gateway recorded it
 * (routes/responses.ts contextOf). A stored response's items are recorded from its final event's `output`; a
 * stream whose final event carries a usage but lists no output (a compatible server that sends the items only in
 * `response.output_item.done`) must have the items it finished there recorded all the same, as a stream cut before
 * its final event has: the provider keeps them, and reads a 200,000-token reasoning item back in whole.
 * Rates: 1 µ$ an input token, 2 µ$ an output token (scriptedGateway).
 */
const USER = 'responses-stream-items-unlisted'
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
const event = (e: Record<string, unknown>, i: number) => `event: ${String(e.type)}\ndata: ${JSON.stringify({ ...e, sequence_number: i })}\n\n`

test.each([
  ['an empty output list', 'empty', { output: [] }],
  ['no output field', 'absent', {}],
])('a final event with a usage and %s: the items finished in output_item.done are held for when sent back by id', async (_, name, output) => {
  const responseId = `resp_unlisted_${name}`
  const item = { id: `rs_unlisted_${name}`, type: 'reasoning', summary: [] }
  const response = { id: responseId, object: 'response', status: 'in_progress', usage: null }
  upstream.answer(() => sseResponse([
    { type: 'response.created', response: { ...response, output: [] } },
    { type: 'response.output_item.added', output_index: 0, item },
    { type: 'response.output_item.done', output_index: 0, item },
    { type: 'response.completed', response: { ...response, status: 'completed', ...output, usage: { input_tokens: 10, output_tokens: REASONING_TOKENS, total_tokens: REASONING_TOKENS + 10 } } },
  ].map(event)))
  const first = await post({ model: 'plain:m', input: 'think hard', max_output_tokens: REASONING_TOKENS, stream: true })
  expect(first.status).toBe(200)
  expect(await first.text()).toContain('response.completed')

  // The reasoning item sent back by id alone, store: false (as the Agents SDK sends a stored response's output).
  upstream.answer(() => jsonResponse({ id: `${responseId}_next`, object: 'response', status: 'completed', output: [], usage: { input_tokens: REASONING_TOKENS + 20, output_tokens: 5 } }))
  const row = await settledRow(gw, USER, async () => {
    const res = await post({ model: 'plain:m', store: false, max_output_tokens: 16, input: [item, { role: 'user', content: 'go on' }] })
    expect(res.status).toBe(200)
  })
  // At least the item's 200,000 tokens at 1 µ$.
  expect(row.reserved).toBeGreaterThanOrEqual(REASONING_TOKENS)
})
