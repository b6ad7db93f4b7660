/**
 * vLLM's /v1/embeddings takes a chat-style request as well as OpenAI's (`EmbeddingChatRequest`: `messages`,
 * rendered with the model's chat template, and the chat route's `chat_template`, `chat_template_kwargs` and
 * `mm_processor_kwargs`). A request's template may repeat the messages without bound, and its media processing turn
 * one image into any number of prompt tokens (test/chat-template-refused.test.ts, test/mm-processor-kwargs-refused.test.ts);
 * and the estimate counts `input`, `messages` only by its bytes (an image part as its URL's, the template's own
 * tokens not at all). With cap-output on (SPEC §6: spend <= max_budget is an invariant) each is refused before the
 * hold, 400 `feature_unsupported` naming the field, as on chat.
 *
 * The scripted server embeds as vLLM would: a chat-style request's messages rendered through the request's template
 * (the 25-token message once per loop iteration), else each input's bytes as tokens.
 * plain:m costs 1 µ$ an input token.
 */
import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { CAPPED_PLAIN_M, jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

let upstream: ScriptedUpstream
let gw: TestGateway
withScriptedGateway(CAPPED_PLAIN_M, (s) => ({ upstream, gw } = s))

const MESSAGE = ' the'.repeat(25) // 25 tokens
const LOOP = "{% for i in range(4000) %}{{ messages[0]['content'] }}{% endfor %}"

/** The prompt tokens vLLM bills: the messages through the request's template when it sends messages, else the input. */
const promptTokens = (body: Record<string, any>): number => {
  if (!Array.isArray(body.messages)) return (Array.isArray(body.input) ? body.input : [body.input]).reduce((n: number, s: string) => n + Buffer.byteLength(s) + 2, 0)
  const template = body.chat_template ?? body.chat_template_kwargs?.chat_template
  const loops = typeof template === 'string' ? Number(/range\((\d+)\)/.exec(template)?.[1] ?? 1) : 1
  return 25 * loops + 10
}

const answerAsVllm = () =>
  upstream.answer((call) =>
    jsonResponse({
      object: 'list',
      data: [{ object: 'embedding', index: 0, embedding: [0.1, 0.2] }],
      model: 'm',
      usage: { prompt_tokens: promptTokens(call.body), total_tokens: promptTokens(call.body) },
    }),
  )

const embed = async (secret: string, body: Record<string, unknown>) => {
  const res = await fetch(`${gw.url}/v1/embeddings`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  const answer = (await res.json()) as { error?: { code?: string; message?: string; param?: string | null } }
  return { status: res.status, code: answer.error?.code, message: answer.error?.message }
}

test('a chat-style embeddings request with a chat_template that repeats the prompt cannot bill past max_budget with cap-output on', async () => {
  const { secret } = await gw.userWithKey({ id: 'embeddings-chat-template', max_budget: 0.001 })
  answerAsVllm()
  const { status } = await embed(secret, { model: 'plain:m', input: 'x', messages: [{ role: 'user', content: MESSAGE }], chat_template: LOOP })
  await gw.settled()
  const user = (await gw.admin('GET', '/v1/users/embeddings-chat-template')).body
  // Before the fix: 200, held for the body's bytes, the server billed 100,010 prompt tokens: spend 0.10001 > 0.001.
  expect(user.spend).toBeLessThanOrEqual(user.max_budget)
  expect(status).toBe(400)
  expect(upstream.calls).toHaveLength(0)
})

test('messages, chat_template, chat_template_kwargs.chat_template, mm_processor_kwargs and media_io_kwargs on embeddings: 400 feature_unsupported naming the field', async () => {
  const { secret } = await gw.userWithKey({ id: 'embeddings-chat-fields', max_budget: 1 })
  const plain = { model: 'plain:m', input: MESSAGE }
  for (const [body, field] of [
    [{ ...plain, messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://example.com/a.png' } }] }] }, 'messages'],
    [{ ...plain, chat_template: LOOP }, 'chat_template'],
    [{ ...plain, chat_template_kwargs: { chat_template: LOOP } }, 'chat_template_kwargs.chat_template'],
    [{ ...plain, mm_processor_kwargs: { min_pixels: 50_176_000 } }, 'mm_processor_kwargs'],
    [{ ...plain, media_io_kwargs: { video: { num_frames: 10_000 } } }, 'media_io_kwargs'],
  ] as const) {
    const { status, code, message } = await embed(secret, body)
    expect({ field, status, code, named: message?.startsWith(`Invalid body: ${field}:`) }).toEqual({ field, status: 400, code: 'feature_unsupported', named: true })
  }
  expect(upstream.calls).toHaveLength(0)
  answerAsVllm()
  expect((await embed(secret, plain)).status).toBe(200)
  expect((await embed(secret, { ...plain, messages: null, chat_template: null })).status).toBe(200)
  expect(upstream.calls).toHaveLength(2)
  await gw.settled()
})
