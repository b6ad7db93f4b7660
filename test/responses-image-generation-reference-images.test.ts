import { afterAll, beforeAll, beforeEach, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { jsonResponse, scriptedProviders, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'

/**
 * The Responses `image_generation` tool's image model reads reference images — the request's input images, an
 * earlier generated image sent back (`image_generation_call`), a mask — billed by OpenAI as image input tokens
 * ($10/M; thousands per image at `input_fidelity: "high"`) that the answer reports only in
 * `tool_usage.image_gen`, apart from `response.usage`. `server_tools.image_generation` prices the image rendered,
 * not what the model reads (SPEC §5: a feature the provider bills is priced or refused): an edit, high input
 * fidelity, a mask, or an input image beside the tool is refused 400 `feature_unsupported` before any hold or
 * upstream call, where the price row sets no image model rates (served where it does:
 * responses-image-generation-input-priced.test.ts). A generation from text alone, and input images without the tool, are served.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string
const USER = 'image-generation-reference-images'
const IMAGE_FEE_MICROS = 40_000 // $0.04 per image

beforeAll(async () => {
  upstream = startScriptedUpstream()
  gw = await startTestGateway({
    config: {
      providers: scriptedProviders(upstream),
      server_tool_default_max_uses: 1,
      // $1 / $2 per million: one token is 1 / 2 micro-USD.
      pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2, server_tools: { image_generation: 0.04 } } },
    },
  })
  secret = (await gw.userWithKey({ id: USER, max_budget: 100 })).secret
})
afterAll(async () => {
  await gw.stop()
  await upstream.stop()
})
beforeEach(() => {
  upstream.calls.length = 0
})

const usage = { input_tokens: 100, output_tokens: 50, total_tokens: 150, input_tokens_details: { cached_tokens: 0 }, output_tokens_details: { reasoning_tokens: 0 } }
const imageCall = { id: 'ig_1', type: 'image_generation_call', status: 'completed', result: 'AAAA', output_format: 'png' }
// Ten 1536x1024 reference photos read at high input fidelity: what the image model bills, reported apart from the usage.
const toolUsage = { image_gen: { input_tokens: 60_000, input_tokens_details: { image_tokens: 59_800, text_tokens: 200 }, output_tokens: 6_240, total_tokens: 66_240 } }
const PNG = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=='
const photo = { type: 'input_image', image_url: PNG }
const ask = (...parts: Record<string, unknown>[]) => [{ role: 'user', content: [{ type: 'input_text', text: 'a group photo of these people' }, ...parts] }]

const post = async (body: Record<string, unknown>) => {
  const res = await fetch(`${gw.url}/v1/responses`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'plain:m', max_output_tokens: 100, ...body }),
  })
  return { status: res.status, text: await res.text() }
}

async function expectRefused(body: Record<string, unknown>) {
  const { status, text } = await post(body)
  expect({ status, code: JSON.parse(text).error?.code, upstreamCalls: upstream.calls.length }).toEqual({ status: 400, code: 'feature_unsupported', upstreamCalls: 0 })
  expect(gw.query('SELECT count(*) AS n FROM reservations')[0].n).toBe(0)
}

test('an edit of ten reference images at high input fidelity is refused before the provider is called', async () => {
  // Served, the 60,000 image input tokens tool_usage.image_gen reports would be billed $0.
  upstream.answer(() => jsonResponse({ id: 'resp_edit', object: 'response', status: 'completed', model: 'm', usage, tool_usage: toolUsage, output: [imageCall] }))
  await expectRefused({
    input: ask(...Array.from({ length: 10 }, () => photo)),
    tools: [{ type: 'image_generation', action: 'edit', input_fidelity: 'high', quality: 'high', size: '1536x1024', output_format: 'png' }],
  })
})

test('each way the image model is given something to read is refused: an edit, high fidelity, a mask, an input image, an earlier image', async () => {
  upstream.answer(() => jsonResponse({ id: 'resp_edit', object: 'response', status: 'completed', model: 'm', usage, tool_usage: toolUsage, output: [imageCall] }))
  await expectRefused({ input: 'make it blue', tools: [{ type: 'image_generation', action: 'edit' }] })
  await expectRefused({ input: 'a cat', tools: [{ type: 'image_generation', input_fidelity: 'high' }] })
  await expectRefused({ input: 'a cat', tools: [{ type: 'image_generation', input_image_mask: { image_url: PNG } }] })
  await expectRefused({ input: ask(photo), tools: [{ type: 'image_generation' }] })
  await expectRefused({ input: ask(photo), tools: [{ type: 'image_generation', action: 'generate', input_fidelity: 'low' }] })
  // A function's output carrying an image, and an earlier generated image sent back by id, as OpenAI's guide edits one.
  await expectRefused({
    input: [...ask(), { type: 'function_call', call_id: 'c1', name: 'shot', arguments: '{}' }, { type: 'function_call_output', call_id: 'c1', output: [photo] }],
    tools: [{ type: 'image_generation' }, { type: 'function', name: 'shot', parameters: { type: 'object' } }],
  })
  await expectRefused({ input: [...ask(), { type: 'image_generation_call', id: 'ig_0' }], tools: [{ type: 'image_generation' }] })
})

test('a generation from text alone is served and billed as one image; input images without the tool are served', async () => {
  upstream.answer(() => jsonResponse({ id: 'resp_png', object: 'response', status: 'completed', model: 'm', usage, output: [imageCall] }))
  const drawn = await post({ input: ask(), tools: [{ type: 'image_generation', action: 'generate', input_fidelity: 'low', quality: 'high', output_format: 'png' }] })
  await gw.settled()
  expect({ status: drawn.status, upstreamCalls: upstream.calls.length }).toEqual({ status: 200, upstreamCalls: 1 })
  expect(gw.query<{ cost: number }>('SELECT cost FROM usage ORDER BY id DESC LIMIT 1')[0]!.cost).toBe(100 * 1 + 50 * 2 + IMAGE_FEE_MICROS)

  upstream.answer(() => jsonResponse({ id: 'resp_seen', object: 'response', status: 'completed', model: 'm', usage, output: [] }))
  const seen = await post({ input: ask(photo, photo) })
  expect({ status: seen.status, upstreamCalls: upstream.calls.length }).toEqual({ status: 200, upstreamCalls: 2 })
})
