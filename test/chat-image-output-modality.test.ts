import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { jsonResponse, postResponses, scriptedProviders, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'

/**
 * Red team (jk): chat `modalities` asking for image output.
 *
 * OpenRouter (an OpenAI-compatible provider the README treats at length) generates images through
 * `/chat/completions` with `modalities: ["image", "text"]` (its image-generation guide). The image tokens are
 * billed at their own, far dearer rate: google/gemini-2.5-flash-image lists $0.30/M input and $2.50/M output,
 * with "image output tokens $30/MTok" (1,290 tokens an image, ~$0.039). The usage reports them inside
 * `completion_tokens` (`completion_tokens_details.image_tokens`).
 *
 * The gateway reads `modalities` only for `audio` (src/pricing/features.ts, openAIChatFeatures: `audioOutput`),
 * and a price row has no image-output rate: so a request for image output is neither refused (SPEC §5: a
 * feature billed beyond the text rates that the price book cannot price is a 402 naming it, as an unpriced
 * `modalities: ["audio"]` is) nor held or billed at the image rate: the image tokens settle at the text output
 * rate, a twelfth of what the provider charges.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string
const USER = 'rt-jk-image-output'

beforeAll(async () => {
  upstream = startScriptedUpstream()
  gw = await startTestGateway({
    config: {
      providers: scriptedProviders(upstream),
      // OpenRouter's row for google/gemini-2.5-flash-image, whole dollars for exact micro-USD: $1/M in, $2/M out.
      pricing: { 'plain:google/gemini-2.5-flash-image': { input_per_million: 1, output_per_million: 2 } },
    },
  })
  secret = (await gw.userWithKey({ id: USER, max_budget: 100 })).secret
})
afterAll(async () => {
  await gw.stop()
  await upstream.stop()
})

test('chat modalities ["image","text"] (image output, billed at its own rate) is refused 402 while the price book cannot price it', async () => {
  // What OpenRouter answers: one image (1,290 image tokens) inside completion_tokens.
  upstream.answer(() =>
    jsonResponse({
      id: 'gen-1', object: 'chat.completion', created: 1, model: 'google/gemini-2.5-flash-image',
      choices: [{
        index: 0, finish_reason: 'stop',
        message: { role: 'assistant', content: 'Here is your sunset.', images: [{ type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } }] },
      }],
      usage: { prompt_tokens: 12, completion_tokens: 1300, total_tokens: 1312, completion_tokens_details: { reasoning_tokens: 0, image_tokens: 1290 } },
    }),
  )
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'plain:google/gemini-2.5-flash-image',
      messages: [{ role: 'user', content: 'Generate a beautiful sunset over mountains' }],
      modalities: ['image', 'text'],
    }),
  })
  const text = await res.text()
  await gw.settled()
  const rows = gw.query<{ cost: number; completion_tokens: number }>('SELECT cost, completion_tokens FROM usage')
  // Shown when it fails: what was billed for the image. 1,290 image tokens at $30/M are 38,700 µ$ at the provider.
  console.log('status', res.status, 'upstream calls', upstream.calls.length, 'usage rows', JSON.stringify(rows))
  expect(res.status).toBe(402)
  expect(text).toContain('pricing_required')
  expect(upstream.calls).toHaveLength(0)
})

const chat = (body: Record<string, unknown>) =>
  fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'plain:google/gemini-2.5-flash-image', messages: [{ role: 'user', content: 'Draw a sunset' }], ...body }),
  })

test('Responses with modalities ["image","text"] (OpenRouter takes them there too) is refused 402 naming image output', async () => {
  const before = upstream.calls.length
  const res = await postResponses(gw, secret, { model: 'plain:google/gemini-2.5-flash-image', input: 'Draw a sunset', modalities: ['image', 'text'] })
  expect(res.status).toBe(402)
  const text = await res.text()
  expect(text).toContain('pricing_required')
  expect(text).toContain('image output')
  expect(upstream.calls.length).toBe(before)
})

test('an output modality no rate exists for (video) is refused 400 before any upstream call; so is a modalities that is not a list', async () => {
  const before = upstream.calls.length
  for (const modalities of [['text', 'video'], 'image']) {
    const res = await chat({ modalities })
    expect(res.status).toBe(400)
    expect(await res.text()).toContain('modalities')
  }
  expect(upstream.calls.length).toBe(before)
})
