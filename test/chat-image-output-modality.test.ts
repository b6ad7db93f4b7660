import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { jsonResponse, openAIEvent, openStream, postResponses, scriptedProviders, sseResponse, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'

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
      pricing: {
        'plain:google/gemini-2.5-flash-image': { input_per_million: 1, output_per_million: 2 },
        // The same with an image output rate: $30/M, as OpenRouter lists it (30 µ$ a token).
        'plain:priced-image': { input_per_million: 1, output_per_million: 2, image_output_per_million: 30 },
      },
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

/** OpenRouter's usage for one image (1,290 image tokens) and 10 tokens of text, after a 12-token prompt. */
const IMAGE_USAGE = { prompt_tokens: 12, completion_tokens: 1300, total_tokens: 1312, completion_tokens_details: { reasoning_tokens: 0, image_tokens: 1290 } }
/** 12 input at $1/M, 10 text out at $2/M, 1,290 image tokens at $30/M. */
const IMAGE_USAGE_COST = 12 * 1 + 10 * 2 + 1290 * 30

const lastRow = () => gw.query<{ cost: number; reserved: number; prompt_tokens: number; completion_tokens: number; status: string }>(
  'SELECT cost, reserved, prompt_tokens, completion_tokens, status FROM usage ORDER BY id DESC LIMIT 1',
)[0]!

const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
  openAIEvent({ id: 'gen-2', object: 'chat.completion.chunk', created: 1, model: 'priced-image', choices: [{ index: 0, delta, finish_reason: finish }] })

test('priced: the image tokens of a JSON answer settle at image_output_per_million, the rest of the output at the text rate', async () => {
  upstream.answer(() =>
    jsonResponse({
      id: 'gen-1', object: 'chat.completion', created: 1, model: 'priced-image',
      choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: 'Here is your sunset.' } }],
      usage: IMAGE_USAGE,
    }),
  )
  const res = await chat({ model: 'plain:priced-image', modalities: ['image', 'text'] })
  expect(res.status).toBe(200)
  await res.text()
  await gw.settled()
  expect(lastRow()).toMatchObject({ cost: IMAGE_USAGE_COST, completion_tokens: 1300, status: 'ok' })
})

test('priced: a stream\'s usage settles its image tokens at the image rate too', async () => {
  upstream.answer(() =>
    sseResponse([
      chunk({ role: 'assistant', content: 'Here is your sunset.' }),
      chunk({}, 'stop'),
      openAIEvent({ id: 'gen-2', object: 'chat.completion.chunk', created: 1, model: 'priced-image', choices: [], usage: IMAGE_USAGE }),
      openAIEvent('[DONE]'),
    ]),
  )
  const res = await chat({ model: 'plain:priced-image', modalities: ['image', 'text'], stream: true, stream_options: { include_usage: true } })
  expect(res.status).toBe(200)
  await res.text()
  await gw.settled()
  expect(lastRow()).toMatchObject({ cost: IMAGE_USAGE_COST, status: 'ok' })
})

test('priced: the hold prices every output token at the image rate, and a stream that ends without usage pays that hold', async () => {
  upstream.answer(() => sseResponse([chunk({ role: 'assistant', content: 'Here is your sunset.' }), chunk({}, 'stop'), openAIEvent('[DONE]')]))
  const res = await chat({ model: 'plain:priced-image', modalities: ['image', 'text'], stream: true, max_tokens: 100 })
  expect(res.status).toBe(200)
  await res.text()
  await gw.settled()
  const row = lastRow()
  // The input estimate at $1/M and 100 output tokens at $30/M, not at the text rate's $2/M.
  expect(row.reserved).toBe(row.prompt_tokens * 1 + 100 * 30)
  expect(row).toMatchObject({ cost: row.reserved, completion_tokens: 100 })
})

test('priced: a text-only request to the same row is held at the text output rate', async () => {
  upstream.answer(() => sseResponse([chunk({ role: 'assistant', content: 'Hi.' }), chunk({}, 'stop'), openAIEvent('[DONE]')]))
  const res = await chat({ model: 'plain:priced-image', modalities: ['text'], stream: true, max_tokens: 100 })
  await res.text()
  await gw.settled()
  const row = lastRow()
  expect(row.reserved).toBe(row.prompt_tokens * 1 + 100 * 2)
})

test('priced: a stream its client cuts before any usage pays the output delivered at the image rate, as it was held', async () => {
  // A generated image streams as base64 text: its bytes do not say which were image tokens.
  upstream.answer(openStream([chunk({ role: 'assistant', content: 'iVBORw0KGg' })]))
  const res = await chat({ model: 'plain:priced-image', modalities: ['image', 'text'], stream: true, max_tokens: 100 })
  const reader = res.body!.getReader()
  let text = ''
  while (!text.includes('iVBORw0KGg')) text += new TextDecoder().decode((await reader.read()).value)
  await reader.cancel()
  await gw.settled()
  const row = lastRow()
  // The input estimate at $1/M and the 10 bytes delivered at $30/M.
  expect(row).toMatchObject({ status: 'aborted', completion_tokens: 10, cost: row.prompt_tokens * 1 + 10 * 30 })
})
