/**
 * A LiteLLM proxy (a `type: openai` provider the README names: its fallback lists are refused, its cache-write usage
 * read) takes a request's JSON `extra_body` as its own `extra_body` argument and merges it over the provider request
 * it built, after its transform (`data = {**data, **extra_body}` in `BaseLLMHTTPHandler`: BerriAI/litellm#31118,
 * where it overrides even `model`; #18039 shows a raw `extra_body` key reaching the proxy is honoured). So
 * `extra_body: {max_tokens: 100000, n: 4}` has the provider generate 4 × 100,000 tokens on a hold of 16, and
 * `extra_body: {model}` runs a model the key's allow-list does not name. The gateway reads `extra_body` only for
 * Gemini's `google.cached_content` (refused: test/provider-extensions-refused.test.ts), so on every native route
 * anything but Gemini's `google` in it is refused 400 `feature_unsupported` before any call.
 *
 * The scripted upstream emulates the proxy: it merges `extra_body` over the body, then generates `max_tokens`
 * tokens per choice for `n` choices. plain:m costs 1 µ$ an input token, 2 µ$ an output token; cap-output on,
 * default max 64: SPEC §6 "with cap-output on, spend <= max_budget is an invariant".
 */
import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { CAPPED_PLAIN_M, jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

let upstream: ScriptedUpstream
let gw: TestGateway
withScriptedGateway(CAPPED_PLAIN_M, (s) => ({ upstream, gw } = s))

/** What a LiteLLM proxy sends on: the body with `extra_body` merged over it. */
const asProxySends = (body: Record<string, any>) => ({ ...body, ...(body.extra_body ?? {}) })

/** Output tokens the provider generates for what it is sent: `max_tokens` (none: 100,000) for each of `n` choices. */
const generatedBy = (body: Record<string, any>): number => {
  const sent = asProxySends(body)
  const max = typeof sent.max_tokens === 'number' ? sent.max_tokens : 100_000
  const n = typeof sent.n === 'number' && sent.n > 1 ? sent.n : 1
  return max * n
}

const post = async (path: string, secret: string, body: Record<string, unknown>) => {
  const res = await fetch(`${gw.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  return { status: res.status, text: await res.text() }
}

const answerAsProxy = () =>
  upstream.answer((call) =>
    jsonResponse({
      id: 'c1', object: 'chat.completion', created: 1, model: 'm',
      choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'length' }],
      usage: { prompt_tokens: 10, completion_tokens: generatedBy(call.body), total_tokens: 10 + generatedBy(call.body) },
    }),
  )

test('chat: extra_body.max_tokens / n do not lift the bound the hold covers (cap-output on)', async () => {
  const { secret } = await gw.userWithKey({ id: 'extra-body-chat', max_budget: 0.01 })
  answerAsProxy()
  const res = await post('/v1/chat/completions', secret, {
    model: 'plain:m',
    messages: [{ role: 'user', content: 'hi' }],
    max_tokens: 16,
    extra_body: { max_tokens: 100_000, n: 4 },
  })
  await gw.settled()
  // Refused before the call (400), or sent so that what the proxy forwards cannot generate past the hold's 16 tokens.
  for (const call of upstream.calls) expect(generatedBy(call.body)).toBeLessThanOrEqual(16)
  // And the invariant itself: the user's spend never passes its $0.01 budget.
  const user = (await gw.admin('GET', '/v1/users/extra-body-chat')).body
  expect({ status: res.status === 200 || res.status === 400, spendWithinBudget: user.spend <= user.max_budget }).toEqual({ status: true, spendWithinBudget: true })
})

test('chat: extra_body.model cannot switch the model the request was priced and allowed at', async () => {
  const { secret } = await gw.userWithKey({ id: 'extra-body-model', max_budget: 1 }, { allowed_models: ['plain:m'] })
  answerAsProxy()
  await post('/v1/chat/completions', secret, {
    model: 'plain:m',
    messages: [{ role: 'user', content: 'hi' }],
    max_tokens: 16,
    extra_body: { model: 'gpt-5.5-pro' },
  })
  await gw.settled()
  // The proxy runs the model named last: it must be the one the hold was priced at.
  for (const call of upstream.calls) expect(asProxySends(call.body).model).toBe('m')
})

test('embeddings: extra_body.model cannot switch the model the request was priced and allowed at', async () => {
  const { secret } = await gw.userWithKey({ id: 'extra-body-embed', max_budget: 1 }, { allowed_models: ['plain:m'] })
  upstream.answer(() => jsonResponse({ object: 'list', data: [{ object: 'embedding', index: 0, embedding: [0.1] }], model: 'm', usage: { prompt_tokens: 3, total_tokens: 3 } }))
  await post('/v1/embeddings', secret, { model: 'plain:m', input: 'hi', extra_body: { model: 'text-embedding-3-large' } })
  await gw.settled()
  for (const call of upstream.calls) expect(asProxySends(call.body).model).toBe('m')
})

test('responses: extra_body.max_output_tokens does not lift the bound the hold covers (cap-output on)', async () => {
  const { secret } = await gw.userWithKey({ id: 'extra-body-responses', max_budget: 0.01 })
  upstream.answer((call) => {
    const sent = asProxySends(call.body)
    const out = typeof sent.max_output_tokens === 'number' ? sent.max_output_tokens : 100_000
    return jsonResponse({
      id: 'resp_1', object: 'response', created_at: 1, status: 'completed', model: 'm',
      output: [{ type: 'message', id: 'msg_1', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'ok', annotations: [] }] }],
      usage: { input_tokens: 10, output_tokens: out, total_tokens: 10 + out },
    })
  })
  await post('/v1/responses', secret, { model: 'plain:m', input: 'hi', max_output_tokens: 16, store: false, extra_body: { max_output_tokens: 100_000 } })
  await gw.settled()
  for (const call of upstream.calls) {
    const sent = asProxySends(call.body)
    expect(typeof sent.max_output_tokens === 'number' && sent.max_output_tokens <= 16).toBe(true)
  }
  const user = (await gw.admin('GET', '/v1/users/extra-body-responses')).body
  expect(user.spend).toBeLessThanOrEqual(user.max_budget)
})

test('every native route: 400 feature_unsupported with param extra_body, before any call; Gemini\'s google alone is served', async () => {
  const { secret } = await gw.userWithKey({ id: 'extra-body-routes', max_budget: 1 })
  upstream.calls.length = 0
  const extra_body = { n: 4 }
  for (const [path, body] of [
    ['/v1/chat/completions', { model: 'plain:m', messages: [{ role: 'user', content: 'hi' }], extra_body }],
    ['/v1/responses', { model: 'plain:m', input: 'hi', extra_body }],
    ['/v1/embeddings', { model: 'plain:m', input: 'hi', extra_body }],
    ['/v1/moderations', { model: 'plain:m', input: 'hi', extra_body }],
    ['/v1/audio/speech', { model: 'plain:m', input: 'hi', voice: 'alloy', extra_body }],
    ['/v1/chat/completions', { model: 'plain:m', messages: [{ role: 'user', content: 'hi' }], extra_body: 'max_tokens=100000' }],
  ] as const) {
    const { status, text } = await post(path, secret, body)
    const error = JSON.parse(text).error
    expect({ path, status, code: error?.code, param: error?.param }).toEqual({ path, status: 400, code: 'feature_unsupported', param: 'extra_body' })
  }
  expect(upstream.calls).toHaveLength(0)
  answerAsProxy()
  const google = { google: { thinking_config: { thinking_budget: 0 } } }
  expect((await post('/v1/chat/completions', secret, { model: 'plain:m', messages: [{ role: 'user', content: 'hi' }], max_tokens: 16, extra_body: google })).status).toBe(200)
  expect(upstream.calls.map((call) => call.body.extra_body)).toEqual([google])
})
