/**
 * A conversation turn sent with `store: false` adds its items to the conversation at the provider all the same, so
 * it grows the conversation's recorded size: the next turn is held for the conversation as the provider keeps it.
 *
 * OpenAI's `conversation` parameter: "Input items and output items from this response are automatically added to this
 * conversation after this response completes" — the conversation is the state, whatever `store` says of the response
 * object. README (Stored state): a conversation "grows by what each turn adds ... so that a request chained on it, or
 * on its conversation, is never held for less context than the provider will bill it". SPEC §6: with cap-output on,
 * `spend <= max_budget` is an invariant. Such a turn once grew nothing (the route recorded nothing for `store: false`),
 * and the next turn was held for the conversation as it was before it.
 */
import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, CAPPED_PLAIN_M, type ScriptedUpstream, withScriptedGateway, postResponses } from './support/scripted-upstream'

let upstream: ScriptedUpstream
let gw: TestGateway

withScriptedGateway(CAPPED_PLAIN_M, (started) => ({ upstream, gw } = started))

const usage = (input: number, output: number) => ({
  input_tokens: input, input_tokens_details: { cached_tokens: 0 }, output_tokens: output, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: input + output,
})
const post = (secret: string, body: Record<string, unknown>) => postResponses(gw, secret, body)

test('a store: false turn of a conversation still grows it: the next turn is held for what the provider keeps in it', async () => {
  const { secret } = await gw.userWithKey({ id: 'conv-unstored-turn', max_budget: 1 })
  // The provider's conversation: its size in tokens, grown by each turn's input and output.
  let size = 0
  let n = 0
  upstream.answer(({ body }) => {
    const own = typeof body.input === 'string' ? Buffer.byteLength(body.input) : 0
    const prompt = (body.conversation ? size : 0) + own
    size = prompt + 1
    return jsonResponse({
      id: `resp_u${++n}`, object: 'response', status: 'completed', model: 'm', store: body.store !== false, usage: usage(prompt, 1), conversation: { id: 'conv_u' },
      output: [{ type: 'message', id: `msg_u${n}`, role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'k', annotations: [] }] }],
    })
  })
  // Turn 1 starts the conversation (a few tokens).
  expect((await post(secret, { model: 'plain:m', input: 'hello', max_output_tokens: 16 })).status).toBe(200)
  // Turn 2, store: false, 300,000 tokens of input ($0.30 at $1/M in): held, answered and paid; the provider adds them to conv_u.
  const t2 = await post(secret, { model: 'plain:m', input: 'y'.repeat(300_000), conversation: 'conv_u', store: false, max_output_tokens: 16 })
  expect(t2.status).toBe(200)
  await t2.arrayBuffer()
  await gw.settled()
  // $0.25 left: less than the 300,000 tokens the provider reads again on the next turn.
  const before = (await gw.admin('GET', '/v1/users/conv-unstored-turn')).body
  await gw.admin('PATCH', '/v1/users/conv-unstored-turn', { max_budget: Number((before.spend + 0.25).toFixed(6)) })
  const calls = upstream.calls.length
  const t3 = await post(secret, { model: 'plain:m', input: 'go on', conversation: 'conv_u', max_output_tokens: 16 })
  const code = ((await t3.json()) as any).error?.code
  await gw.settled()
  const after = (await gw.admin('GET', '/v1/users/conv-unstored-turn')).body
  expect({ t3: `${t3.status} ${code}`, providerCalled: upstream.calls.length > calls, withinBudget: after.spend <= after.max_budget })
    .toEqual({ t3: '402 budget_exceeded', providerCalled: false, withinBudget: true })
})
