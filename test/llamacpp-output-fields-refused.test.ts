/**
 * A server's own output fields cannot lift the bound the hold covers (SPEC §6: with cap-output on, the gateway
 * injects its default max "as the upstream max so the estimate is a hard bound"). llama.cpp's `llama-server`, an
 * OpenAI-compatible server a `type: openai` provider takes, hands every field it does not know to its sampler,
 * which reads `n_predict` before `max_completion_tokens` and `max_tokens` (`-1`: until the context is full), and
 * `n_cmpl` (completions) before `n`; its Responses endpoint copies the body into the chat request it runs. Passed
 * on, `n_predict: 100000` had it generate 100,000 tokens (200,000 µ$ of output at this price) on a hold of 170 µ$,
 * the caller charged 138 µ$. Such fields are refused with 400 `feature_unsupported`, naming the field and what to
 * send instead, before any hold or upstream call.
 *
 * The emulated server generates what llama.cpp would: `n_predict` tokens when sent, else `max_tokens`.
 * plain:m costs 1 µ$ an input token, 2 µ$ an output token; cap-output's max is 64.
 */
import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { CAPPED_PLAIN_M, jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

let upstream: ScriptedUpstream
let gw: TestGateway
withScriptedGateway(CAPPED_PLAIN_M, (s) => ({ upstream, gw } = s))

/** llama-server's precedence: `n_predict` first, then `max_tokens`; -1 (or none) fills the context (here: 100,000). */
const generatedBy = (body: Record<string, any>): number => {
  const n = typeof body.n_predict === 'number' ? body.n_predict : typeof body.max_tokens === 'number' ? body.max_tokens : -1
  return n < 0 ? 100_000 : n
}

const post = async (path: string, secret: string, body: Record<string, unknown>) => {
  const res = await fetch(`${gw.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  return { status: res.status, text: await res.text() }
}

test('with cap-output on, a client\'s n_predict does not lift the bound at a llama.cpp-style server', async () => {
  const { secret } = await gw.userWithKey({ id: 'bq-n-predict', max_budget: 1 })
  upstream.answer((call) =>
    jsonResponse({
      id: 'c1', object: 'chat.completion', created: 1, model: 'm',
      choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'length' }],
      usage: { prompt_tokens: 10, completion_tokens: generatedBy(call.body), total_tokens: 10 + generatedBy(call.body) },
    }),
  )
  await post('/v1/chat/completions', secret, { model: 'plain:m', messages: [{ role: 'user', content: 'hi' }], n_predict: 100_000 })
  // Refused before the call, or sent with nothing that lets the server generate past the bound the hold covers.
  for (const call of upstream.calls) expect(generatedBy(call.body)).toBeLessThanOrEqual(64)
})

test('n_predict and n_cmpl on chat and Responses: 400 feature_unsupported naming the field, before any call', async () => {
  const { secret } = await gw.userWithKey({ id: 'bq-n-predict-fields', max_budget: 1 })
  upstream.calls.length = 0
  const chat = { model: 'plain:m', messages: [{ role: 'user', content: 'hi' }] }
  const responses = { model: 'plain:m', input: 'hi' }
  for (const [path, body, field, instead] of [
    ['/v1/chat/completions', { ...chat, n_predict: -1 }, 'n_predict', 'max_tokens'],
    ['/v1/chat/completions', { ...chat, max_tokens: 10, n_cmpl: 4 }, 'n_cmpl', 'n'],
    ['/v1/responses', { ...responses, n_predict: 100_000 }, 'n_predict', 'max_output_tokens'],
    ['/v1/responses', { ...responses, n_cmpl: 4 }, 'n_cmpl', 'one request per answer'],
  ] as const) {
    const { status, text } = await post(path, secret, body)
    const error = JSON.parse(text).error
    expect({ path, status, code: error?.code, named: error?.message.startsWith(`Invalid body: ${field}:`), instead: error?.message.endsWith(`Send ${instead} instead.`) })
      .toEqual({ path, status: 400, code: 'feature_unsupported', named: true, instead: true })
  }
  expect(upstream.calls.length).toBe(0)
  // Null is no value (llama.cpp reads it as absent): served.
  upstream.answer(() =>
    jsonResponse({
      id: 'c2', object: 'chat.completion', created: 1, model: 'm',
      choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 10, completion_tokens: 2, total_tokens: 12 },
    }),
  )
  expect((await post('/v1/chat/completions', secret, { ...chat, n_predict: null })).status).toBe(200)
  await gw.settled()
})
