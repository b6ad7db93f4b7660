/**
 * Chat completions' output fields cannot lift the bound a Responses hold covers (SPEC §6: with cap-output on, the
 * estimate is a hard bound). llama.cpp's `/v1/responses` copies the whole body into the chat request it runs,
 * turning only `max_output_tokens` into `max_tokens` (`convert_responses_to_chatcmpl`); its sampler then reads
 * `n_predict ?? max_completion_tokens ?? max_tokens` for the output bound and `n_cmpl ?? n ?? 1` for the number of
 * answers. The hold covers one answer of `max_output_tokens`; passed on, `max_completion_tokens: 50000` had the
 * server generate 50,000 tokens on a 16-token hold, and `n: 4` four answers (64 tokens), the excess never charged.
 * So on every Responses route `max_completion_tokens`, `max_tokens` and an `n` other than 1 are refused with 400
 * `feature_unsupported` naming the field and what to send instead, before any hold or upstream call, as
 * `n_predict` and `n_cmpl` are (test/llamacpp-output-fields-refused.test.ts). OpenAI's Responses API has none of
 * them, and its SDK never sends them.
 *
 * plain:m costs 1 µ$ an input token and 2 µ$ an output token; cap-output on, default max output 64.
 */
import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { CAPPED_PLAIN_M, jsonResponse, postResponses, scriptedProviders, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

let upstream: ScriptedUpstream
let gw: TestGateway
withScriptedGateway(
  (scripted) => ({
    ...CAPPED_PLAIN_M,
    providers: { ...scriptedProviders(scripted), viachat: { ...scriptedProviders(scripted).plain, responses: 'chat' } },
    pricing: { ...CAPPED_PLAIN_M.pricing, 'viachat:m': CAPPED_PLAIN_M.pricing['plain:m'], 'ant:m': CAPPED_PLAIN_M.pricing['plain:m'] },
  }),
  (s) => ({ upstream, gw } = s),
)

/** What llama.cpp generates for a Responses body: max_output_tokens becomes max_tokens; n_predict ?? max_completion_tokens ?? max_tokens, times n_cmpl ?? n. */
const generatedBy = (body: Record<string, any>): number => {
  const chat: Record<string, any> = { ...body, ...(body.max_output_tokens != null ? { max_tokens: body.max_output_tokens } : {}) }
  const max = chat.n_predict ?? chat.max_completion_tokens ?? chat.max_tokens ?? -1
  const completions = chat.n_cmpl ?? chat.n ?? 1
  return (typeof max === 'number' && max >= 0 ? max : 100_000) * completions
}

const answerAsLlamaCpp = () =>
  upstream.answer((call) =>
    jsonResponse({
      id: 'resp_1', object: 'response', created_at: 1, status: 'completed', model: 'm',
      output: [{ type: 'message', id: 'msg_1', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'ok', annotations: [] }] }],
      usage: { input_tokens: 10, output_tokens: generatedBy(call.body), total_tokens: 10 + generatedBy(call.body) },
    }),
  )

/** Refused before the call, or sent with nothing that lets the server generate past the 16 tokens the hold covers. */
async function expectBoundKept(secret: string, body: Record<string, unknown>) {
  const res = await postResponses(gw, secret, { model: 'plain:m', input: 'hi', store: false, max_output_tokens: 16, ...body })
  await res.text()
  await gw.settled()
  const generated = upstream.calls.map((call) => generatedBy(call.body))
  expect({ status: res.status, generated }).toEqual(res.status === 400 ? { status: 400, generated: [] } : { status: res.status, generated: generated.map((n) => Math.min(n, 16)) })
}

test('Responses: max_completion_tokens does not let a llama.cpp-style server generate past the held bound', async () => {
  const { secret } = await gw.userWithKey({ id: 'responses-max-completion', max_budget: 1 })
  answerAsLlamaCpp()
  await expectBoundKept(secret, { max_completion_tokens: 50_000 })
})

test('Responses: n does not have a llama.cpp-style server generate several answers on a hold for one', async () => {
  const { secret } = await gw.userWithKey({ id: 'responses-n-completions', max_budget: 1 })
  answerAsLlamaCpp()
  await expectBoundKept(secret, { n: 4 })
})

test('other APIs\' output fields on Responses, native or translated: 400 feature_unsupported naming the field, before any call', async () => {
  const { secret } = await gw.userWithKey({ id: 'responses-chat-output-fields', max_budget: 1 })
  for (const model of ['plain:m', 'viachat:m', 'ant:m'])
    for (const [field, value, instead] of [
      ['max_completion_tokens', 50_000, 'max_output_tokens'],
      ['max_tokens', 50_000, 'max_output_tokens'],
      ['n', 4, 'one request per answer'],
      ['n', 0, 'one request per answer'],
      ['n_predict', 100_000, 'max_output_tokens'],
      ['n_cmpl', 4, 'one request per answer'],
    ] as const) {
      const res = await postResponses(gw, secret, { model, input: 'hi', store: false, [field]: value })
      const { error } = (await res.json()) as { error?: { code?: string; message: string } }
      expect({ model, field, status: res.status, code: error?.code, named: error?.message.startsWith(`Invalid body: ${field}:`), instead: error?.message.endsWith(`Send ${instead} instead.`) })
        .toEqual({ model, field, status: 400, code: 'feature_unsupported', named: true, instead: true })
    }
  expect(upstream.calls).toEqual([])
})

test('Responses: n of 1 and null output fields ask for no more than one bounded answer: served', async () => {
  const { secret } = await gw.userWithKey({ id: 'responses-chat-output-fields-unset', max_budget: 1 })
  answerAsLlamaCpp()
  const res = await postResponses(gw, secret, { model: 'plain:m', input: 'hi', store: false, max_output_tokens: 16, n: 1, max_completion_tokens: null, max_tokens: null })
  await res.text()
  await gw.settled()
  expect({ status: res.status, generated: upstream.calls.map((call) => generatedBy(call.body)) }).toEqual({ status: 200, generated: [16] })
})
