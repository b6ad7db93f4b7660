import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { postResponses, sseResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * A repeated final event (a proxy's, with a smaller usage or none) shrinks nothing the first one stated
 * (src/metering/larger-counts.ts), the image tool's model input (`tool_usage.image_gen`) included: a second
 * `response.completed` restating the same usage with a smaller tool_usage bills the first one's image model input.
 */
let upstream: ScriptedUpstream
let gw: TestGateway

withScriptedGateway(
  {
    pricing: {
      'plain:m': { input_per_million: 1, output_per_million: 2, server_tools: { image_generation: 0.04, image_generation_text_input_per_million: 5, image_generation_image_input_per_million: 10 }, template_overhead_tokens: 0 },
    },
  },
  (started) => ({ upstream, gw } = started),
)

const usage = { input_tokens: 100, output_tokens: 50, total_tokens: 150, input_tokens_details: { cached_tokens: 0 }, output_tokens_details: { reasoning_tokens: 0 } }
const imageCall = { id: 'ig_1', type: 'image_generation_call', status: 'completed', result: 'AAAA', output_format: 'png' }
const imageGen = (text: number, images: number) => ({ image_gen: { input_tokens: text + images, input_tokens_details: { text_tokens: text, image_tokens: images }, output_tokens: 4_160, total_tokens: text + images + 4_160 } })
const event = (e: Record<string, unknown>, i: number) => `event: ${String(e.type)}\ndata: ${JSON.stringify({ ...e, sequence_number: i })}\n\n`
const PNG = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=='

test('a repeated final event with a smaller tool_usage does not shrink the image model input billed', async () => {
  const { secret } = await gw.userWithKey({ id: 'repeat-final-image-model', max_budget: 5 })
  const response = { id: 'resp_1', object: 'response', status: 'completed', model: 'm', usage, output: [imageCall] }
  upstream.answer(() =>
    sseResponse([
      event({ type: 'response.created', response: { ...response, status: 'in_progress', output: [], usage: null } }, 0),
      event({ type: 'response.output_item.done', output_index: 0, item: imageCall }, 1),
      event({ type: 'response.completed', response: { ...response, tool_usage: imageGen(100, 2 * 581) } }, 2),
      // A proxy's restatement: the same usage, the image model's input shown smaller.
      event({ type: 'response.completed', response: { ...response, tool_usage: imageGen(0, 0) } }, 3),
    ]),
  )
  const res = await postResponses(gw, secret, {
    model: 'plain:m', stream: true, store: false, max_output_tokens: 100,
    input: [{ role: 'user', content: [{ type: 'input_text', text: 'restyle both' }, { type: 'input_image', image_url: PNG }, { type: 'input_image', image_url: PNG }] }],
    tools: [{ type: 'image_generation', output_format: 'png' }],
  })
  await res.text()
  await gw.settled()
  expect(res.status).toBe(200)
  const { cost } = gw.query<{ cost: number }>("SELECT cost FROM usage WHERE user_id = 'repeat-final-image-model' ORDER BY id DESC LIMIT 1")[0]!
  // 100 × 1 + 50 × 2 + one image 40,000 + the first final event's 100 text × 5 and 1,162 image tokens × 10.
  expect(cost).toBe(100 + 100 + 40_000 + 100 * 5 + 2 * 581 * 10)
})
