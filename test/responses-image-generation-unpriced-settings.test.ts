import { afterAll, beforeAll, beforeEach, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { jsonResponse, openAIEvent, scriptedProviders, sseResponse, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'

/**
 * `server_tools.image_generation` prices one rendered image per `image_generation_call` item (README: "set it to the
 * dearest image your users may ask for"). Three settings of the Responses `image_generation` tool buy more than that,
 * reported where settlement does not read: an animated `gif` of `frame_count` frames (2..16, 9 by default) in one call
 * item; an `svg` written by an author model (`svg.model`, or the request's own) whose tokens come back on the call item
 * as `svg_usage`, apart from `response.usage`; and `partial_images` (1..3), each rendered and billed as image output
 * tokens reported in `tool_usage.image_gen`. No price settles them (SPEC §5), so each is refused 400
 * `feature_unsupported` before any hold or upstream call; a plain image is served and billed as one.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string
const USER = 'image-generation-settings'
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
const imageCall = (item: Record<string, unknown> = {}) => ({ id: 'ig_1', type: 'image_generation_call', status: 'completed', result: 'AAAA', ...item })

const post = async (tool: Record<string, unknown>, stream = false) => {
  const res = await fetch(`${gw.url}/v1/responses`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'plain:m', input: 'draw a logo', max_output_tokens: 100, stream, tools: [{ type: 'image_generation', ...tool }] }),
  })
  return { status: res.status, text: await res.text() }
}

async function expectRefused(tool: Record<string, unknown>, stream = false) {
  const { status, text } = await post(tool, stream)
  expect({ status, code: JSON.parse(text).error?.code, upstreamCalls: upstream.calls.length }).toEqual({ status: 400, code: 'feature_unsupported', upstreamCalls: 0 })
  expect(gw.query('SELECT count(*) AS n FROM reservations')[0].n).toBe(0)
}

test('an SVG by an author model, named or the request\'s own, is refused before the provider is called', async () => {
  // Served, its author's 300,000 output tokens (svg_usage on the call item) would be billed $0.
  upstream.answer(() => jsonResponse({
    id: 'resp_svg', object: 'response', status: 'completed', model: 'm', usage,
    output: [imageCall({ output_format: 'svg', svg_usage: { model: 'gpt-5.5-pro', input_tokens: 20_000, output_tokens: 300_000, total_tokens: 320_000 } })],
  }))
  await expectRefused({ output_format: 'svg', svg: { model: 'gpt-5.5-pro', reasoning: { effort: 'max' } } })
  await expectRefused({ output_format: 'svg' })
})

test('an animated GIF, whose frames one call item renders, is refused before the provider is called', async () => {
  upstream.answer(() => jsonResponse({ id: 'resp_gif', object: 'response', status: 'completed', model: 'm', usage, output: [imageCall({ output_format: 'gif' })] }))
  await expectRefused({ output_format: 'gif', frame_count: 16 })
  await expectRefused({ output_format: 'gif' })
})

test('partial images, each rendered and billed apart from the usage, are refused before the provider is called', async () => {
  let seq = 0
  const ev = (e: Record<string, unknown>) => openAIEvent({ ...e, sequence_number: seq++ })
  upstream.answer(() => sseResponse([
    ev({ type: 'response.created', response: { id: 'resp_p', object: 'response', status: 'in_progress', model: 'm', output: [] } }),
    ...[0, 1, 2].map((i) => ev({ type: 'response.image_generation_call.partial_image', output_index: 0, item_id: 'ig_1', partial_image_index: i, partial_image_b64: 'UEFSVA==' })),
    ev({ type: 'response.output_item.done', output_index: 0, item: imageCall() }),
    ev({ type: 'response.completed', response: { id: 'resp_p', object: 'response', status: 'completed', model: 'm', output: [imageCall()], usage } }),
  ]))
  await expectRefused({ partial_images: 3 }, true)
})

test('a plain image, with no partial images, is served and billed as one image', async () => {
  upstream.answer(() => jsonResponse({ id: 'resp_png', object: 'response', status: 'completed', model: 'm', usage, output: [imageCall({ output_format: 'png' })] }))
  const { status } = await post({ output_format: 'png', partial_images: 0 })
  await gw.settled()
  expect({ status, upstreamCalls: upstream.calls.length }).toEqual({ status: 200, upstreamCalls: 1 })
  expect(gw.query<{ cost: number }>('SELECT cost FROM usage ORDER BY id DESC LIMIT 1')[0]!.cost).toBe(100 * 1 + 50 * 2 + IMAGE_FEE_MICROS)
})
