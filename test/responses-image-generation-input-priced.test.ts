import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, postResponses, sseResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'
import { waitFor } from './support/wait-for'

/**
 * The Responses `image_generation` tool's image model reads reference images (input images, an earlier generated
 * image sent back, a mask) and text, billed by OpenAI at its own rates (gpt-image-1: $5 per million text tokens, $10
 * per million image tokens) and reported apart from the usage, in `tool_usage.image_gen`. Where the price row sets
 * those rates (`server_tools.image_generation_text_input_per_million`, `…_image_input_per_million`), such a request is
 * held for the most the image model may read (every image at the most one costs at the tool's `input_fidelity`, and
 * the turn's text, each call) and billed what `tool_usage.image_gen` reports, JSON or streamed; where it does not,
 * it is refused 400 as before. Codex sends every earlier item again each turn (`store: false`): after its first
 * generated image every turn carries that `image_generation_call` beside the tool, and was refused.
 * Cap-output on: spend <= max_budget must hold (SPEC §6). Rates: 1 and 2 µ$ a token; text 5, images 10 µ$ a token.
 */
let upstream: ScriptedUpstream
let gw: TestGateway

const IMAGE_FEE_MICROS = 40_000
const RATES = { image_generation: 0.04, image_generation_text_input_per_million: 5, image_generation_image_input_per_million: 10 }

withScriptedGateway(
  {
    pricing: {
      'plain:m': { input_per_million: 1, output_per_million: 2, server_tools: RATES, template_overhead_tokens: 0 },
      'plain:u': { input_per_million: 1, output_per_million: 2, server_tools: { image_generation: 0.04 }, template_overhead_tokens: 0 },
    },
    cap_output_tokens: true,
    server_tool_default_max_uses: 1,
  },
  (started) => ({ upstream, gw } = started),
)

const usage = { input_tokens: 100, output_tokens: 50, total_tokens: 150, input_tokens_details: { cached_tokens: 0 }, output_tokens_details: { reasoning_tokens: 0 } }
const imageCall = (id: string) => ({ id, type: 'image_generation_call', status: 'completed', result: 'AAAA', output_format: 'png' })
const imageGen = (text: number, images: number) => ({ image_gen: { input_tokens: text + images, input_tokens_details: { text_tokens: text, image_tokens: images }, output_tokens: 4_160, total_tokens: text + images + 4_160 } })
const PNG = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=='

/** Codex's second turn: the first turn's items again, its generated image among them, and the next ask. */
const codexSecondTurn = (model: string, stream: boolean) => ({
  model, stream, store: false, max_output_tokens: 100, include: ['reasoning.encrypted_content'],
  input: [
    { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'draw a cat' }] },
    imageCall('ig_1'),
    { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Here it is.' }] },
    { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'make it bluer' }] },
  ],
  tools: [{ type: 'image_generation', output_format: 'png' }],
})

const event = (e: Record<string, unknown>, i: number) => `event: ${String(e.type)}\ndata: ${JSON.stringify({ ...e, sequence_number: i })}\n\n`
const answered = (id: string, toolUsage: unknown, stream: boolean) => {
  const response = { id, object: 'response', status: 'completed', model: 'm', usage, tool_usage: toolUsage, output: [imageCall(`${id}_ig`)] }
  if (!stream) return jsonResponse(response)
  return sseResponse([
    event({ type: 'response.created', response: { ...response, status: 'in_progress', output: [], usage: null, tool_usage: null } }, 0),
    event({ type: 'response.output_item.done', output_index: 0, item: imageCall(`${id}_ig`) }, 1),
    event({ type: 'response.completed', response }, 2),
  ])
}

const lastCost = () => gw.query<{ cost: number }>('SELECT cost FROM usage ORDER BY id DESC LIMIT 1')[0]!.cost

for (const stream of [false, true])
  test(`Codex's second turn carrying its earlier image is served and billed what the image model read (${stream ? 'SSE' : 'JSON'})`, async () => {
    const { secret } = await gw.userWithKey({ id: `codex-image-${stream}`, max_budget: 5 })
    upstream.answer(() => answered(`resp_codex_${stream}`, imageGen(100, 323), stream))
    const res = await postResponses(gw, secret, codexSecondTurn('plain:m', stream))
    const text = await res.text()
    await gw.settled()
    expect({ status: res.status, upstreamCalls: upstream.calls.length }).toEqual({ status: 200, upstreamCalls: 1 })
    if (stream) expect(text).toContain('response.completed')
    // Tokens at 1 and 2 µ$, one image, and the image model's 100 text tokens at 5 µ$ and the earlier image's 323 at
    // 10 µ$ (two 512px tiles at low input fidelity: 65 + 2 × 129).
    expect(lastCost()).toBe(100 * 1 + 50 * 2 + IMAGE_FEE_MICROS + 100 * 5 + 323 * 10)
  })

test('an answer that generated an image without reporting tool_usage is billed the most its usage allowed the image model', async () => {
  const { secret } = await gw.userWithKey({ id: 'image-input-unreported', max_budget: 5 })
  upstream.answer(() => answered('resp_unreported', undefined, false))
  const res = await postResponses(gw, secret, codexSecondTurn('plain:m', false))
  await res.text()
  await gw.settled()
  expect(res.status).toBe(200)
  // One call reading the earlier image (581 tokens at low fidelity) and the turn's 100 + 50 tokens as text.
  expect(lastCost()).toBe(100 * 1 + 50 * 2 + IMAGE_FEE_MICROS + 581 * 10 + 150 * 5)
})

test('the hold covers the most the image model may read: under a tight budget, every answer reporting it is billed whole and spend stays within', async () => {
  const budget = 0.4
  const { secret } = await gw.userWithKey({ id: 'image-input-tight', max_budget: budget })
  // Two reference images (a photo, the earlier image) at high input fidelity: 6,821 tokens each at most.
  const worstImages = 2 * (65 + 4 * 129 + 6_240)
  let release!: () => void
  const released = new Promise<void>((resolve) => (release = resolve))
  upstream.answer(async () => {
    await released
    return answered('resp_tight', imageGen(300, worstImages), false)
  })
  const body = {
    ...codexSecondTurn('plain:m', false),
    input: [...codexSecondTurn('plain:m', false).input, { type: 'message', role: 'user', content: [{ type: 'input_image', image_url: PNG }] }],
    tools: [{ type: 'image_generation', input_fidelity: 'high', output_format: 'png' }],
  }
  const all = Array.from({ length: 4 }, () => postResponses(gw, secret, body))
  // Refused ones answer at once; the served wait for the provider.
  await waitFor(2_000, () => upstream.calls.length > 0)
  await Bun.sleep(300)
  release()
  const statuses = await Promise.all(
    all.map(async (answer) => {
      const res = await answer
      await res.text()
      return res.status
    }),
  )
  await gw.settled()
  const served = statuses.filter((s) => s === 200).length
  const costs = gw.query<{ cost: number }>("SELECT cost FROM usage WHERE user_id = 'image-input-tight' AND status = 'ok'").map((r) => r.cost)
  const each = 100 * 1 + 50 * 2 + IMAGE_FEE_MICROS + 300 * 5 + worstImages * 10
  expect({ served: served > 0, refused: statuses.filter((s) => s === 402).length + served }).toEqual({ served: true, refused: 4 })
  expect(costs).toEqual(Array(served).fill(each))
  expect(costs.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(budget * 1_000_000)
})

test('unpriced image model input: the same turn is refused 400 as before, before any hold or upstream call', async () => {
  const { secret } = await gw.userWithKey({ id: 'image-input-unpriced', max_budget: 5 })
  upstream.answer(() => answered('resp_unpriced', imageGen(100, 1_100), false))
  for (const body of [
    codexSecondTurn('plain:u', false),
    { ...codexSecondTurn('plain:u', false), input: [{ role: 'user', content: [{ type: 'input_image', image_url: PNG }] }] },
    { model: 'plain:u', input: 'a cat', tools: [{ type: 'image_generation', input_fidelity: 'high' }] },
  ]) {
    const res = await postResponses(gw, secret, body)
    const { error } = (await res.json()) as { error?: { code?: string; message?: string } }
    expect({ status: res.status, code: error?.code, upstreamCalls: upstream.calls.length }).toEqual({ status: 400, code: 'feature_unsupported', upstreamCalls: 0 })
    expect(error?.message).toContain('image_generation_image_input_per_million')
  }
  expect(gw.query("SELECT count(*) AS n FROM reservations WHERE user_id = 'image-input-unpriced'")[0].n).toBe(0)
})

test('priced, what has no bound is still refused: a file beside the tool, images read by an image model of undocumented cost', async () => {
  const { secret } = await gw.userWithKey({ id: 'image-input-unbounded', max_budget: 5 })
  upstream.answer(() => answered('resp_unbounded', imageGen(100, 1_100), false))
  for (const body of [
    { model: 'plain:m', input: [{ role: 'user', content: [{ type: 'input_file', file_id: 'file-abc' }] }], tools: [{ type: 'image_generation' }] },
    { ...codexSecondTurn('plain:m', false), tools: [{ type: 'image_generation', model: 'gpt-image-2' }] },
  ]) {
    const res = await postResponses(gw, secret, body)
    expect({ status: res.status, code: ((await res.json()) as { error?: { code?: string } }).error?.code, upstreamCalls: upstream.calls.length }).toEqual({ status: 400, code: 'feature_unsupported', upstreamCalls: 0 })
  }
})
