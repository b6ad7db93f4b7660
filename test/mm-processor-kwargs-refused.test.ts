/**
 * vLLM's per-request `mm_processor_kwargs` ("additional kwargs to pass to the HF processor") go to the engine with
 * the prompt; for Qwen2-VL / Qwen2.5-VL they carry `min_pixels` / `max_pixels` (vllm-project/vllm#9612: "can be
 * passed at init time or inference time"), and every image is resized into that range: one token per 28 × 28
 * pixels. A 70-byte image with `min_pixels` of 50,176,000 bills 64,000 prompt tokens, while with cap-output on the
 * hold counts each image at the media bound (here the row's `media_part_tokens`, 4,096: the bound the operator's
 * server is set to). `media_io_kwargs` (a video's `num_frames`) does the same for the loaders. SPEC §6: with
 * cap-output on, spend <= max_budget is an invariant, so both are refused before the hold, as a request's
 * `chat_template` is (test/chat-template-refused.test.ts).
 *
 * The scripted upstream bills as vLLM serving Qwen2.5-VL: an image is `min_pixels / 784` tokens when the request
 * sets `min_pixels`, else 1,000; plain:m costs 1 µ$ an input token, 2 µ$ an output token; cap-output's max is 64.
 */
import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { CAPPED_PLAIN_M, jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

let upstream: ScriptedUpstream
let gw: TestGateway
// The operator states the media bound its server is set to (vLLM `--mm-processor-kwargs '{"max_pixels": 3211264}'`:
// 4,096 tokens an image), as the README's overshoot exception asks: the request's own kwargs lift it all the same.
withScriptedGateway(
  { ...CAPPED_PLAIN_M, pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2, media_part_tokens: 4096 } } },
  (s) => ({ upstream, gw } = s),
)

const TINY_PNG =
  'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=='

/** The prompt tokens vLLM bills for this body: its text, and each image resized into the requested pixel range. */
const promptTokensOf = (body: Record<string, any>): number => {
  const min = body.mm_processor_kwargs?.min_pixels
  const perImage = typeof min === 'number' ? Math.ceil(min / 784) : 1000
  let images = 0
  for (const m of body.messages ?? []) if (Array.isArray(m.content)) images += m.content.filter((p: any) => p?.type === 'image_url').length
  return 20 + images * perImage
}

test('with cap-output on, mm_processor_kwargs cannot make an image bill past what the hold covers', async () => {
  const { secret } = await gw.userWithKey({ id: 'mm-kwargs', max_budget: 0.01 })
  upstream.answer((call) =>
    jsonResponse({
      id: 'c1', object: 'chat.completion', created: 1, model: 'm',
      choices: [{ index: 0, message: { role: 'assistant', content: 'a red dot' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: promptTokensOf(call.body), completion_tokens: 4, total_tokens: promptTokensOf(call.body) + 4 },
    }),
  )
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'plain:m',
      max_tokens: 16,
      messages: [{ role: 'user', content: [{ type: 'text', text: 'What is this?' }, { type: 'image_url', image_url: { url: TINY_PNG } }] }],
      mm_processor_kwargs: { min_pixels: 50_176_000, max_pixels: 50_176_000 },
    }),
  })
  await res.text()
  await gw.settled()
  // Before the fix: 200, held for one image at 4,096 tokens, billed 64,020 prompt tokens past a $0.01 budget.
  const row = gw.query<{ cost: number; reserved: number; prompt_tokens: number }>('SELECT cost, reserved, prompt_tokens FROM usage ORDER BY id DESC LIMIT 1')[0]
  const user = (await gw.admin('GET', '/v1/users/mm-kwargs')).body
  // Refused before the call (nothing billed), or held for what the server bills: spend never passes the $0.01 budget.
  expect({ status: res.status, billedPastHold: row ? row.cost > row.reserved : false, spendWithinBudget: user.spend <= user.max_budget })
    .toEqual({ status: 400, billedPastHold: false, spendWithinBudget: true })
})

test('mm_processor_kwargs and media_io_kwargs, on chat and Responses: 400 feature_unsupported naming the field; null is served', async () => {
  const { secret } = await gw.userWithKey({ id: 'mm-kwargs-fields', max_budget: 1 })
  upstream.calls.length = 0
  const post = async (path: string, body: Record<string, unknown>) => {
    const res = await fetch(`${gw.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
    return { status: res.status, error: ((await res.json()) as any).error }
  }
  const chat = { model: 'plain:m', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: TINY_PNG } }] }] }
  const responses = { model: 'plain:m', input: [{ role: 'user', content: [{ type: 'input_image', image_url: TINY_PNG }] }] }
  for (const [path, body, field] of [
    ['/v1/chat/completions', { ...chat, mm_processor_kwargs: { max_pixels: 50_176_000 } }, 'mm_processor_kwargs'],
    ['/v1/chat/completions', { ...chat, media_io_kwargs: { video: { num_frames: 4096 } } }, 'media_io_kwargs'],
    ['/v1/responses', { ...responses, mm_processor_kwargs: { min_pixels: 50_176_000 } }, 'mm_processor_kwargs'],
    ['/v1/responses', { ...responses, media_io_kwargs: { image: { mode: 'RGB' } } }, 'media_io_kwargs'],
  ] as const) {
    const { status, error } = await post(path, body)
    expect({ path, status, code: error?.code, named: error?.message.startsWith(`Invalid body: ${field}:`) }).toEqual({ path, status: 400, code: 'feature_unsupported', named: true })
  }
  expect(upstream.calls).toHaveLength(0)
  upstream.answer(() =>
    jsonResponse({
      id: 'c1', object: 'chat.completion', created: 1, model: 'm',
      choices: [{ index: 0, message: { role: 'assistant', content: 'a red dot' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 30, completion_tokens: 4, total_tokens: 34 },
    }),
  )
  expect((await post('/v1/chat/completions', { ...chat, mm_processor_kwargs: null, media_io_kwargs: null })).status).toBe(200)
  expect(upstream.calls).toHaveLength(1)
})
