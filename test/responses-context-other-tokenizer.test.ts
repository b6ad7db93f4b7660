import { expect, test } from 'bun:test'
import { countTokens as cl100k } from 'gpt-tokenizer/encoding/cl100k_base'
import { countTokens as o200k } from 'gpt-tokenizer/encoding/o200k_base'
import type { TestGateway } from './support/gateway'
import { jsonResponse, type ScriptedCall, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * A stored Responses context is recorded in the tokens of the model that made it (its usage), but OpenAI's
 * models do not share a tokenizer: gpt-4o counts with o200k_base, gpt-4-turbo (which serves /v1/responses and
 * takes previous_response_id) with cl100k_base, and the same Gujarati text is ~5x the tokens on the second
 * (gpt-tokenizer, both encodings, in this test). So each stored id also records the bytes of its text (its
 * input as the hold counts it, its output's items as input, the context it continued; a conversation grown by
 * what each turn adds), and a context continued on another model is held at the larger of its tokens and its
 * bytes: a token is at least one byte on any byte-level tokenizer, the estimate's own rule. With cap-output
 * on, spend never passes max_budget (SPEC §6). On the model that made it, it is held at its tokens, as before;
 * a row recorded before bytes were counted is refused on another model (400 `context_size_unknown`) and served
 * on its own.
 */
let upstream: ScriptedUpstream
let gw: TestGateway

withScriptedGateway(
  {
    cap_output_tokens: true,
    pricing: {
      'plain:gpt-4o': { input_per_million: 2.5, output_per_million: 10 },
      'plain:gpt-4-turbo': { input_per_million: 10, output_per_million: 30 },
    },
  },
  (started) => ({ upstream, gw } = started),
)

const GUJARATI = 'ગુજરાતી ભાષા ભારતના ગુજરાત રાજ્યની મુખ્ય ભાષા છે અને તે ઇન્ડો-આર્યન ભાષા પરિવારની સભ્ય છે. આ ભાષા લગભગ પાંચ કરોડથી વધુ લોકો બોલે છે. '.repeat(20)
const ANSWER = 'ok'
const tokensOn = (model: string, text: string) => (model === 'gpt-4-turbo' ? cl100k(text) : o200k(text))

/** The provider: keeps each response's context text and bills it, with the new input, in the model's own tokens. */
const contexts = new Map<string, string>()
const provider = (id: string, conversation?: string) => ({ body }: ScriptedCall) => {
  const before = body.previous_response_id ?? (typeof body.conversation === 'string' ? body.conversation : undefined)
  const text = (before ? (contexts.get(before) ?? '') : '') + String(body.input)
  contexts.set(id, text + ANSWER)
  if (conversation) contexts.set(conversation, text + ANSWER)
  const input = tokensOn(body.model, text) + 10
  return jsonResponse({
    id, object: 'response', status: 'completed', model: body.model,
    ...(conversation ? { conversation: { id: conversation } } : {}),
    usage: { input_tokens: input, input_tokens_details: { cached_tokens: 0 }, output_tokens: 16, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: input + 16 },
    output: [{ type: 'message', id: `msg_${id}`, role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: ANSWER, annotations: [] }] }],
  })
}

const post = (secret: string, body: Record<string, unknown>) =>
  fetch(`${gw.url}/v1/responses`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })

/** A user's own stored context on gpt-4o, then its continuation on gpt-4-turbo; returns the continuation's answer. */
async function continueOnTurbo(user: string, budgetFor: (spent: number) => number | null) {
  const { secret } = await gw.userWithKey({ id: user, max_budget: 1 })
  upstream.answer(provider(`resp_${user}_1`))
  expect((await post(secret, { model: 'plain:gpt-4o', max_output_tokens: 16, input: GUJARATI })).status).toBe(200)
  await gw.settled()
  const spent = Math.round((await gw.admin('GET', `/v1/users/${user}`)).body.spend * 1e6)
  const budget = budgetFor(spent)
  if (budget !== null) await gw.admin('PATCH', `/v1/users/${user}`, { max_budget: budget / 1e6 })
  upstream.answer(provider(`resp_${user}_2`))
  const res = await post(secret, { model: 'plain:gpt-4-turbo', previous_response_id: `resp_${user}_1`, input: 'સારાંશ આપો.', max_output_tokens: 16 })
  await res.text()
  await gw.settled()
  return { res, spent }
}

test('cap-output on: a stored context made on gpt-4o (o200k) continued on gpt-4-turbo (cl100k) never takes spend past max_budget', async () => {
  expect(cl100k(GUJARATI)).toBeGreaterThan(4 * o200k(GUJARATI))
  // The continuation's hold, read by a probe user from X-Budget-Remaining.
  const probe = await continueOnTurbo('ctx-tok-probe', () => null)
  expect(probe.res.status).toBe(200)
  const held = Math.round((1 - probe.spent / 1e6 - Number(probe.res.headers.get('x-budget-remaining'))) * 1e6)
  // A user left exactly that hold for the continuation.
  const { res } = await continueOnTurbo('ctx-tok-tight', (spent) => spent + held)
  expect(res.status).toBe(200)
  const user = (await gw.admin('GET', '/v1/users/ctx-tok-tight')).body
  expect(Math.round(user.spend * 1e6)).toBeLessThanOrEqual(Math.round(user.max_budget * 1e6))
})

const row = (id: string) => {
  const [r] = gw.query<{ model: string; context_tokens: unknown; context_bytes: unknown }>('SELECT model, context_tokens, context_bytes FROM stored_responses WHERE id = ?', id)
  return r && { model: r.model, tokens: Number(r.context_tokens), bytes: r.context_bytes === null ? null : Number(r.context_bytes) }
}

test('each stored id records the bytes of its text: the input, the answer, and the context it continued, along the chain', async () => {
  const { secret } = await gw.userWithKey({ id: 'ctx-bytes-chain', max_budget: 1 })
  upstream.answer(provider('resp_bytes_1'))
  expect((await post(secret, { model: 'plain:gpt-4o', max_output_tokens: 16, input: GUJARATI })).status).toBe(200)
  await gw.settled()
  const first = row('resp_bytes_1')!
  expect(first.tokens).toBe(o200k(GUJARATI) + 10 + 16)
  expect(first.bytes!).toBeGreaterThanOrEqual(Buffer.byteLength(GUJARATI + ANSWER))
  // Within the text's bytes plus the framing the estimate counts (a message's overhead, the answer's JSON).
  expect(first.bytes!).toBeLessThan(Buffer.byteLength(GUJARATI) + 300)
  upstream.answer(provider('resp_bytes_2'))
  expect((await post(secret, { model: 'plain:gpt-4o', previous_response_id: 'resp_bytes_1', input: 'સારાંશ આપો.', max_output_tokens: 16 })).status).toBe(200)
  await gw.settled()
  expect(row('resp_bytes_2')!.bytes!).toBeGreaterThan(first.bytes! + Buffer.byteLength('સારાંશ આપો.' + ANSWER))
})

test('on the model that made it, a stored context is held at its recorded tokens, not its bytes', async () => {
  const { secret } = await gw.userWithKey({ id: 'ctx-bytes-same', max_budget: 1 })
  upstream.answer(provider('resp_same_tok_1'))
  expect((await post(secret, { model: 'plain:gpt-4o', max_output_tokens: 16, input: GUJARATI })).status).toBe(200)
  await gw.settled()
  const spent = (await gw.admin('GET', '/v1/users/ctx-bytes-same')).body.spend
  upstream.answer(provider('resp_same_tok_2'))
  const res = await post(secret, { model: 'plain:gpt-4o', previous_response_id: 'resp_same_tok_1', input: 'સારાંશ આપો.', max_output_tokens: 16 })
  await res.text()
  // gpt-4o at $2.5/M in, $10/M out: the hold's input is the recorded tokens and the new input's bytes.
  const held = (1 - spent - Number(res.headers.get('x-budget-remaining'))) * 1e6
  const heldInput = (held - 16 * 10) / 2.5
  expect(heldInput).toBeLessThan(row('resp_same_tok_1')!.bytes!)
  expect(heldInput).toBeGreaterThanOrEqual(row('resp_same_tok_1')!.tokens)
})

test('a context recorded before its bytes were counted is refused on another model (400, nothing held), served on its own', async () => {
  const { secret } = await gw.userWithKey({ id: 'ctx-bytes-old', max_budget: 1 })
  gw.exec(
    `INSERT INTO stored_responses (id, kind, user_id, provider, model, context_tokens, media_parts, context_bytes, created_at) VALUES ('resp_bytes_old', 'response', 'ctx-bytes-old', 'plain', 'plain:gpt-4o', 880, 0, NULL, 1)`,
  )
  const calls = upstream.calls.length
  upstream.answer(provider('resp_bytes_old_2'))
  const next = { previous_response_id: 'resp_bytes_old', input: 'સારાંશ આપો.', max_output_tokens: 16 }
  const refused = await post(secret, { model: 'plain:gpt-4-turbo', ...next })
  expect(refused.status).toBe(400)
  expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('context_size_unknown')
  expect(upstream.calls.length).toBe(calls)
  expect((await post(secret, { model: 'plain:gpt-4o', ...next })).status).toBe(200)
  await gw.settled()
  // Unknown stays unknown along the chain.
  expect(row('resp_bytes_old_2')!.bytes).toBeNull()
})

test('a conversation grows by the bytes each turn adds, and continued on another model is held at them', async () => {
  const { secret } = await gw.userWithKey({ id: 'ctx-bytes-conv', max_budget: 1 })
  upstream.answer(provider('resp_conv_guj_1', 'conv_guj'))
  expect((await post(secret, { model: 'plain:gpt-4o', max_output_tokens: 16, input: GUJARATI })).status).toBe(200)
  await gw.settled()
  expect(row('conv_guj')!.bytes).toBe(row('resp_conv_guj_1')!.bytes)
  upstream.answer(provider('resp_conv_guj_2', 'conv_guj'))
  expect((await post(secret, { model: 'plain:gpt-4o', conversation: 'conv_guj', max_output_tokens: 16, input: GUJARATI })).status).toBe(200)
  await gw.settled()
  expect(row('conv_guj')!.bytes).toBe(row('resp_conv_guj_2')!.bytes)
  expect(row('conv_guj')!.bytes!).toBeGreaterThan(2 * Buffer.byteLength(GUJARATI))

  // Left what the conversation's recorded tokens would need on gpt-4-turbo, not what it bills there.
  const spent = Math.round((await gw.admin('GET', '/v1/users/ctx-bytes-conv')).body.spend * 1e6)
  await gw.admin('PATCH', '/v1/users/ctx-bytes-conv', { max_budget: (spent + (row('conv_guj')!.tokens + 100) * 10 + 16 * 30) / 1e6 })
  const calls = upstream.calls.length
  upstream.answer(provider('resp_conv_guj_3', 'conv_guj'))
  const res = await post(secret, { model: 'plain:gpt-4-turbo', conversation: 'conv_guj', input: 'સારાંશ આપો.', max_output_tokens: 16 })
  expect(res.status).toBe(402)
  expect(upstream.calls.length).toBe(calls)
})
