/**
 * vLLM's chat completions take a per-request `chat_template` (a Jinja template the server renders the messages
 * with; `--trust-request-chat-template` on current vLLM, always on earlier releases), and read one in
 * `chat_template_kwargs.chat_template` as the same. Its rendering is the prompt the server tokenizes and bills in
 * `prompt_tokens`, and a template of a few dozen bytes can repeat the messages without bound
 * (`{% for i in range(4000) %}…{% endfor %}`). The estimate counts the template's bytes, as it counts any unknown
 * field's, so the hold covers one copy of the messages: with cap-output on (SPEC §6: spend <= max_budget is an
 * invariant) the field is refused before the hold, as the gateway refuses llama.cpp's `n_predict`
 * (test/llamacpp-output-fields-refused.test.ts). The template's other kwargs only set variables of the server's own
 * template: served.
 *
 * The scripted server renders as vLLM would: the user's 25-token message once per loop iteration.
 * plain:m costs 1 µ$ an input token, 2 µ$ an output token; cap-output's max is 64.
 */
import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { CAPPED_PLAIN_M, jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

let upstream: ScriptedUpstream
let gw: TestGateway
withScriptedGateway(CAPPED_PLAIN_M, (s) => ({ upstream, gw } = s))

const MESSAGE = ' the'.repeat(25) // 25 tokens
const LOOP = "{% for i in range(4000) %}{{ messages[0]['content'] }}{% endfor %}"
const promptTokens = (body: Record<string, any>): number => {
  const template = body.chat_template ?? body.chat_template_kwargs?.chat_template
  const loops = typeof template === 'string' ? Number(/range\((\d+)\)/.exec(template)?.[1] ?? 1) : 1
  return 25 * loops + 10
}

const post = async (path: string, secret: string, body: Record<string, unknown>) => {
  const res = await fetch(`${gw.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  return { status: res.status, text: await res.text() }
}

const answerRendered = () =>
  upstream.answer((call) =>
    jsonResponse({
      id: 'c1', object: 'chat.completion', created: 1, model: 'm',
      choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: promptTokens(call.body), completion_tokens: 2, total_tokens: promptTokens(call.body) + 2 },
    }),
  )

test('a request chat_template that repeats the prompt cannot bill past max_budget with cap-output on', async () => {
  const { secret } = await gw.userWithKey({ id: 'chat-template', max_budget: 0.05 })
  answerRendered()
  const { status } = await post('/v1/chat/completions', secret, { model: 'plain:m', messages: [{ role: 'user', content: MESSAGE }], chat_template: LOOP })
  await gw.settled()
  const user = (await gw.admin('GET', '/v1/users/chat-template')).body
  // Before the fix: 200, held a few hundred µ$ (the body's bytes and 64 output tokens), the server billed 100,010 prompt tokens: spend 0.100014 > 0.05.
  expect(user.spend).toBeLessThanOrEqual(user.max_budget)
  expect(status).toBe(400)
  expect(upstream.calls).toHaveLength(0)
})

test('chat_template, and chat_template_kwargs.chat_template, on chat and Responses: 400 feature_unsupported naming the field; other kwargs are served', async () => {
  const { secret } = await gw.userWithKey({ id: 'chat-template-fields', max_budget: 1 })
  upstream.calls.length = 0
  const chat = { model: 'plain:m', messages: [{ role: 'user', content: MESSAGE }] }
  const responses = { model: 'plain:m', input: MESSAGE }
  for (const [path, body, field] of [
    ['/v1/chat/completions', { ...chat, chat_template: LOOP }, 'chat_template'],
    ['/v1/chat/completions', { ...chat, chat_template_kwargs: { chat_template: LOOP } }, 'chat_template_kwargs.chat_template'],
    ['/v1/responses', { ...responses, chat_template: LOOP }, 'chat_template'],
    ['/v1/responses', { ...responses, chat_template_kwargs: { enable_thinking: false, chat_template: LOOP } }, 'chat_template_kwargs.chat_template'],
  ] as const) {
    const { status, text } = await post(path, secret, body)
    const error = JSON.parse(text).error
    expect({ path, status, code: error?.code, named: error?.message.startsWith(`Invalid body: ${field}:`) }).toEqual({ path, status: 400, code: 'feature_unsupported', named: true })
  }
  expect(upstream.calls).toHaveLength(0)
  answerRendered()
  expect((await post('/v1/chat/completions', secret, { ...chat, chat_template_kwargs: { enable_thinking: false } })).status).toBe(200)
  expect((await post('/v1/chat/completions', secret, { ...chat, chat_template: null })).status).toBe(200)
  expect(upstream.calls).toHaveLength(2)
  await gw.settled()
})
