import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, postResponses, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * The image_generation tool's image model reads, as reference images, the images other hosted tools make earlier in
 * the same response: a code interpreter's `outputs` (`{type: "image"}`, charts) are images the image model reads by
 * the gateway's own rule (features.ts inputImages), and one call can make any number of them, as can a hosted shell
 * in the same kind of container. The hold (src/pricing/image-model-input.ts heldImageModelTokens) can count only the
 * images the request gives and those the image tool made itself, so no bound can be held for them: the image tool
 * beside a tool running in a container is refused 400 before any upstream call, whatever the rates. Otherwise a
 * text-only request was held for one earlier image (two calls: 0 × 2 + 1) and, with cap-output on, billed 76,210 µ$
 * where OpenAI bills 96,240 for 8 charts read; and without the image model rates it was served, the charts at $0.
 */
let upstream: ScriptedUpstream
let gw: TestGateway

const RATES = { image_generation: 0.04, code_interpreter: 0.03, web_search: 0.01, image_generation_text_input_per_million: 5, image_generation_image_input_per_million: 10 }

withScriptedGateway(
  {
    pricing: {
      'plain:m': { input_per_million: 1, output_per_million: 2, server_tools: RATES, template_overhead_tokens: 0 },
      'plain:u': { input_per_million: 1, output_per_million: 2, server_tools: { image_generation: 0.04, code_interpreter: 0.03 }, template_overhead_tokens: 0 },
    },
    cap_output_tokens: true,
    server_tool_default_max_uses: 2,
  },
  (started) => ({ upstream, gw } = started),
)

const usage = { input_tokens: 100, output_tokens: 50, total_tokens: 150, input_tokens_details: { cached_tokens: 0 }, output_tokens_details: { reasoning_tokens: 0 } }
const CHARTS = 8
/** 8 charts at low input fidelity, each two 512px tiles: 65 + 2 × 129 = 323 tokens (under the 581 bound each). */
const CHART_TOKENS = CHARTS * 323

const answer = (id: string) =>
  jsonResponse({
    id, object: 'response', status: 'completed', model: 'm', usage,
    output: [
      {
        id: `${id}_ci`, type: 'code_interpreter_call', status: 'completed', container_id: 'cntr_1', code: 'plot()',
        outputs: Array.from({ length: CHARTS }, (_, i) => ({ type: 'image', url: `https://files.example/chart${i}.png` })),
      },
      { id: `${id}_ig`, type: 'image_generation_call', status: 'completed', result: 'AAAA', output_format: 'png' },
    ],
    tool_usage: { image_gen: { input_tokens: 40 + CHART_TOKENS, input_tokens_details: { text_tokens: 40, image_tokens: CHART_TOKENS }, output_tokens: 4_160, total_tokens: 4_200 + CHART_TOKENS } },
  })

const IMAGE_TOOL = { type: 'image_generation', output_format: 'png' }
const body = (model: string, beside: Record<string, unknown>) => ({
  model, store: false, max_output_tokens: 100, max_tool_calls: 2,
  input: [{ role: 'user', content: [{ type: 'input_text', text: 'Plot the eight quarterly charts, then redraw them together as one watercolor.' }] }],
  tools: [beside, IMAGE_TOOL],
})

/** What a request served beside the image tool gets back: one generated image, from text alone. */
const imageOnly = () =>
  jsonResponse({
    id: 'resp_ig', object: 'response', status: 'completed', model: 'm', usage,
    output: [{ id: 'ig_1', type: 'image_generation_call', status: 'completed', result: 'AAAA', output_format: 'png' }],
    tool_usage: { image_gen: { input_tokens: 40, input_tokens_details: { text_tokens: 40, image_tokens: 0 }, output_tokens: 4_160, total_tokens: 4_200 } },
  })

async function outcome(user: string, request: unknown, reply = () => answer('resp_ci')) {
  const { secret } = await gw.userWithKey({ id: user, max_budget: 5 })
  const before = upstream.calls.length
  upstream.answer(reply)
  const res = await postResponses(gw, secret, request)
  const text = await res.text()
  await gw.settled()
  const error = res.status === 200 ? undefined : (JSON.parse(text) as { error: { code: string; message: string } }).error
  return { status: res.status, upstreamCalls: upstream.calls.length - before, code: error?.code, message: error?.message ?? '' }
}

const CODE_INTERPRETER = { type: 'code_interpreter', container: { type: 'auto' } }

test('a code interpreter beside the image tool is refused 400 before any upstream call, the image model rates set or not', async () => {
  for (const [user, model] of [['ci-charts-priced', 'plain:m'], ['ci-charts-unpriced', 'plain:u']] as const) {
    const { message, ...rest } = await outcome(user, body(model, CODE_INTERPRETER))
    expect(rest).toEqual({ status: 400, upstreamCalls: 0, code: 'feature_unsupported' })
    expect(message).toContain('"code_interpreter" tool running in a container is not served beside the image_generation tool')
  }
})

test('a hosted shell beside the image tool is refused too; a local shell, which the client runs, is not', async () => {
  for (const environment of [{ type: 'container_auto' }, { type: 'container_reference', container_id: 'cntr_1' }]) {
    const { message, ...rest } = await outcome(`hosted-shell-${environment.type}`, body('plain:m', { type: 'shell', environment }))
    expect(rest).toEqual({ status: 400, upstreamCalls: 0, code: 'feature_unsupported' })
    expect(message).toContain('"shell" tool running in a container')
  }
  const local = await outcome('local-shell-beside-image', body('plain:m', { type: 'shell' }), imageOnly)
  expect({ status: local.status, upstreamCalls: local.upstreamCalls }).toEqual({ status: 200, upstreamCalls: 1 })
})

test('a tool that makes no images beside the image tool is still served', async () => {
  const served = await outcome('web-search-beside-image', body('plain:m', { type: 'web_search' }), imageOnly)
  expect({ status: served.status, upstreamCalls: served.upstreamCalls }).toEqual({ status: 200, upstreamCalls: 1 })
})
