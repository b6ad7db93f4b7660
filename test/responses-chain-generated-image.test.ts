import { beforeEach, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, postResponses, sseResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * A response whose output holds a generated image (`image_generation_call` with its `result`), continued with
 * `previous_response_id`, puts that image into the next request's context: the model reads it (OpenAI's multi-turn
 * image editing works by exactly this chain) and the provider bills it as that request's image input, at the
 * model's vision rate (a 1024×1024 image is 25,501 tokens on gpt-4o-mini). The first response's usage never counted
 * it (the image tool made it, billed per image), so the gateway sizes the response by its usage plus each generated
 * image at the media bound; and an `image_generation_call` sent back inline with its `result` (`store: false`) is
 * held as an inline image is, at the media bound at least, not at the bytes of its base64.
 * Cap-output on: spend <= max_budget must hold (SPEC §6). Rates: 1 and 2 µ$ a token.
 */
let upstream: ScriptedUpstream
let gw: TestGateway

const IMAGE_TOKENS = 25_501 // a 1024×1024 high-detail image read by gpt-4o-mini
const R1_IN = 40
const R1_OUT = 10

withScriptedGateway(
  {
    pricing: {
      'plain:m': {
        input_per_million: 1, output_per_million: 2, server_tools: { image_generation: 0.04 },
        // As OpenAI's API: no chat-template allowance; gpt-4o-mini's largest image.
        template_overhead_tokens: 0, media_part_tokens: 48_169,
      },
    },
    cap_output_tokens: true,
    default_max_output_tokens: 64,
  },
  (started) => ({ upstream, gw } = started),
)

const usage = (input: number, output: number) => ({
  input_tokens: input, input_tokens_details: { cached_tokens: 0 }, output_tokens: output, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: input + output,
})
// A small picture (4 kB of base64): its bytes are far fewer than the tokens the model reads it as.
const imageItem = { id: 'ig_1', type: 'image_generation_call', status: 'completed', result: 'iVBORw0KGgo' + 'A'.repeat(4000), revised_prompt: 'a cat', size: '1024x1024', quality: 'high' }
// Its id says which way it was answered: an id is its first recorder's.
const firstResponse = (stream: boolean) => ({
  id: stream ? 'resp_img_streamed' : 'resp_img_json', object: 'response', status: 'completed', model: 'm', usage: usage(R1_IN, R1_OUT),
  output: [imageItem, { type: 'message', id: 'msg_img1', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'Here it is.', annotations: [] }] }],
})
const event = (e: Record<string, unknown>, i: number) => `event: ${String(e.type)}\ndata: ${JSON.stringify({ ...e, sequence_number: i })}\n\n`

/** The provider: a first response that draws the cat; a continuation billed for the image it reads again. */
beforeEach(() =>
  upstream.answer(({ body }) => {
    const continued = body.previous_response_id !== undefined || Array.isArray(body.input)
    if (!continued && body.stream)
      return sseResponse([
        event({ type: 'response.created', response: { ...firstResponse(true), status: 'in_progress', output: [], usage: null } }, 0),
        event({ type: 'response.output_item.done', output_index: 0, item: imageItem }, 1),
        event({ type: 'response.completed', response: firstResponse(true) }, 2),
      ])
    if (!continued) return jsonResponse(firstResponse(false))
    const context = body.previous_response_id ? R1_IN + R1_OUT : 0
    return jsonResponse({
      id: 'resp_img2', object: 'response', status: 'completed', model: 'm', usage: usage(context + IMAGE_TOKENS + 50, 5),
      output: [{ type: 'message', id: 'msg_img2', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'Orange.', annotations: [] }] }],
    })
  }),
)

/** A user who drew the cat (unless `draw` is false), left with $0.01: far less than the image read again ($0.0255). */
async function drewTheCat(userId: string, draw: { stream: boolean } | false) {
  const { secret } = await gw.userWithKey({ id: userId, max_budget: 5 })
  if (draw) {
    const r1 = await postResponses(gw, secret, { model: 'plain:m', input: 'draw a cat', tools: [{ type: 'image_generation' }], max_output_tokens: 16, stream: draw.stream })
    expect(r1.status).toBe(200)
    await r1.arrayBuffer()
    await gw.settled()
  }
  const before = (await gw.admin('GET', `/v1/users/${userId}`)).body
  await gw.admin('PATCH', `/v1/users/${userId}`, { max_budget: Number((before.spend + 0.01).toFixed(6)) })
  return secret
}

/** The continuation's status, and whether spend stayed within max_budget. */
async function continued(userId: string, secret: string, body: Record<string, unknown>) {
  const r2 = await postResponses(gw, secret, { model: 'plain:m', max_output_tokens: 16, ...body })
  await r2.arrayBuffer()
  await gw.settled()
  const after = (await gw.admin('GET', `/v1/users/${userId}`)).body
  return { status: r2.status, withinBudget: after.spend <= after.max_budget }
}

test.each([
  ['JSON', false],
  ['a stream', true],
])('a chain on a response with a generated image (%s) is held for the image the provider reads again', async (_, stream) => {
  const userId = `chain-image-${stream ? 'stream' : 'json'}`
  const secret = await drewTheCat(userId, { stream })
  expect(await continued(userId, secret, { previous_response_id: firstResponse(stream).id, input: 'What colour is the cat?' })).toEqual({ status: 402, withinBudget: true })
})

test('a generated image sent back inline with its result (store: false) is held at the media bound, not its bytes', async () => {
  const secret = await drewTheCat('inline-image', false)
  const input = [{ ...imageItem, id: 'ig_inline' }, { role: 'user', content: 'What colour is the cat?' }]
  expect(await continued('inline-image', secret, { store: false, input })).toEqual({ status: 402, withinBudget: true })
})
