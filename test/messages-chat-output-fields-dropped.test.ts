/**
 * On /v1/messages, other APIs' output fields never reach an OpenAI-compatible server: the request is translated
 * to chat from the Anthropic fields alone, so a `max_completion_tokens`, `n`, `n_predict` or `n_cmpl` in an
 * Anthropic-format body cannot have a server that reads them (llama.cpp: `n_predict ?? max_completion_tokens ??
 * max_tokens`, `n_cmpl ?? n`) generate past the one answer of `max_tokens` the hold covers. (llama.cpp's, vLLM's
 * and SGLang's own Messages endpoints build their chat request the same way.) So, unlike on Responses, they need no
 * refusal there.
 *
 * plain:m costs 1 µ$ an input token and 2 µ$ an output token; cap-output on, default max output 64.
 */
import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { CAPPED_PLAIN_M, jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

let upstream: ScriptedUpstream
let gw: TestGateway
withScriptedGateway(CAPPED_PLAIN_M, (s) => ({ upstream, gw } = s))

/** What llama.cpp generates for a chat body: n_predict ?? max_completion_tokens ?? max_tokens, times n_cmpl ?? n. */
const generatedBy = (body: Record<string, any>): number => {
  const max = body.n_predict ?? body.max_completion_tokens ?? body.max_tokens ?? -1
  return (typeof max === 'number' && max >= 0 ? max : 100_000) * (body.n_cmpl ?? body.n ?? 1)
}

test('Messages to an OpenAI-compatible server: max_completion_tokens, n, n_predict and n_cmpl are not sent, the bound is kept', async () => {
  const { secret } = await gw.userWithKey({ id: 'messages-chat-output-fields', max_budget: 1 })
  upstream.answer((call) =>
    jsonResponse({
      id: 'c1', object: 'chat.completion', created: 1, model: 'm',
      choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'length' }],
      usage: { prompt_tokens: 10, completion_tokens: generatedBy(call.body), total_tokens: 10 + generatedBy(call.body) },
    }),
  )
  const res = await fetch(`${gw.url}/v1/messages`, {
    method: 'POST',
    headers: { 'x-api-key': secret, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'plain:m', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }],
      max_completion_tokens: 50_000, n: 4, n_predict: 100_000, n_cmpl: 4,
    }),
  })
  await res.text()
  await gw.settled()
  const sent = upstream.calls.map((call) => ({ fields: ['max_completion_tokens', 'n', 'n_predict', 'n_cmpl'].filter((field) => field in call.body), generated: generatedBy(call.body) }))
  expect({ status: res.status, sent }).toEqual({ status: 200, sent: [{ fields: [], generated: 16 }] })
})
