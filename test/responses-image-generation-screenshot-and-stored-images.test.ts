import { afterAll, beforeAll, beforeEach, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { jsonResponse, scriptedProviders, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'

/**
 * README (Responses API): the image_generation tool is refused beside an image the image model may read, which it
 * bills in tool_usage.image_gen that no price settles. Two ways the image reached it past the check on the input's
 * `input_image` parts, each served and its image tokens billed $0 before:
 *  - a computer_call_output's screenshot (`output` one part, not a list), which the estimate counts as an image part;
 *  - a stored context (previous_response_id, conversation) whose media parts the gateway recorded
 *    (stored_responses.media_parts), an image sent in an earlier turn or generated there ("make it bluer").
 * Each is refused 400 feature_unsupported before any upstream call, as the direct input image is.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string
const USER = 'image-tool-unseen-images'

beforeAll(async () => {
  upstream = startScriptedUpstream()
  gw = await startTestGateway({
    config: {
      providers: scriptedProviders(upstream),
      server_tool_default_max_uses: 1,
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
const toolUsage = { image_gen: { input_tokens: 6_000, input_tokens_details: { image_tokens: 5_800, text_tokens: 200 }, output_tokens: 6_240, total_tokens: 12_240 } }
const PNG = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=='
const photo = { type: 'input_image', image_url: PNG }
const drawn = (id: string, extra: Record<string, unknown> = {}) => () =>
  jsonResponse({ id, object: 'response', status: 'completed', model: 'm', usage, tool_usage: toolUsage, output: [imageCall], ...extra })
const said = (id: string, extra: Record<string, unknown> = {}) => () =>
  jsonResponse({ id, object: 'response', status: 'completed', model: 'm', usage, ...extra, output: [{ type: 'message', id: `msg_${id}`, role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'ok', annotations: [] }] }] })

const post = async (body: Record<string, unknown>) => {
  const res = await fetch(`${gw.url}/v1/responses`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'plain:m', max_output_tokens: 100, ...body }),
  })
  const text = await res.text()
  await gw.settled()
  return { status: res.status, code: (JSON.parse(text) as { error?: { code?: string } }).error?.code ?? null, id: (JSON.parse(text) as { id?: string }).id }
}

/** Refused before the provider is called, as an input_image beside the tool is. */
async function expectRefused(body: Record<string, unknown>) {
  upstream.answer(drawn('resp_unseen'))
  const before = upstream.calls.length
  const { status, code } = await post(body)
  expect({ status, code, upstreamCalls: upstream.calls.length - before }).toEqual({ status: 400, code: 'feature_unsupported', upstreamCalls: 0 })
}

test('a computer_call_output screenshot beside the image_generation tool is refused, as an input_image is', async () => {
  await expectRefused({
    store: false,
    input: [
      { role: 'user', content: 'redraw what is on my screen as a watercolour' },
      { type: 'computer_call', id: 'cu_1', call_id: 'c1', action: { type: 'screenshot' }, pending_safety_checks: [], status: 'completed' },
      { type: 'computer_call_output', call_id: 'c1', output: { type: 'computer_screenshot', image_url: PNG } },
    ],
    tools: [{ type: 'computer_use_preview', display_width: 1024, display_height: 768, environment: 'browser' }, { type: 'image_generation' }],
  })
})

test('previous_response_id to a stored response whose input held an image: the tool beside it is refused', async () => {
  // Turn 1: the image without the tool, served (README: "send the image without the tool").
  upstream.answer(said('resp_photo_1'))
  const first = await post({ input: [{ role: 'user', content: [{ type: 'input_text', text: 'here are ten photos of us' }, photo] }] })
  expect(first.status).toBe(200)
  const [row] = gw.query<{ media_parts: number }>('SELECT media_parts FROM stored_responses WHERE id = ?', 'resp_photo_1')
  expect(row?.media_parts).toBeGreaterThan(0) // the gateway knows the stored context holds an image
  // Turn 2: the tool, and the image only through the stored context: the image model reads it, billed $0.
  await expectRefused({ previous_response_id: 'resp_photo_1', input: 'now draw a group portrait of these people', tools: [{ type: 'image_generation' }] })
})

test('a conversation whose earlier turn held an image: the tool on a later turn is refused', async () => {
  upstream.answer(said('resp_conv_1', { conversation: { id: 'conv_photo' } }))
  const first = await post({ input: [{ role: 'user', content: [{ type: 'input_text', text: 'my living room' }, photo] }] })
  expect(first.status).toBe(200)
  await expectRefused({ conversation: 'conv_photo', input: 'redecorate it in art deco', tools: [{ type: 'image_generation' }] })
})

test('previous_response_id to a response that generated an image ("make it bluer"): refused as sending the image_generation_call back is', async () => {
  upstream.answer(drawn('resp_drawn_1'))
  const first = await post({ input: 'a red bicycle', tools: [{ type: 'image_generation' }] })
  expect(first.status).toBe(200)
  // Sending { type: 'image_generation_call', id: 'ig_1' } back is refused; continuing the response that holds it is the same edit.
  await expectRefused({ previous_response_id: 'resp_drawn_1', input: 'make it bluer', tools: [{ type: 'image_generation' }] })
})

test('previous_response_id to a stored response of text alone: the tool beside it is served', async () => {
  upstream.answer(said('resp_text_1'))
  const first = await post({ input: 'think of a bicycle' })
  expect(first.status).toBe(200)
  upstream.answer(drawn('resp_text_2'))
  const second = await post({ previous_response_id: 'resp_text_1', input: 'now draw it', tools: [{ type: 'image_generation' }] })
  expect({ status: second.status, upstreamCalls: upstream.calls.length }).toEqual({ status: 200, upstreamCalls: 2 })
})
