import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { spendAtHeldBudget } from './support/held-budget'
import { jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * An image's `detail` changes what OpenAI bills: at `detail: "original"` (newer GPT models) the image keeps its
 * own resolution up to 10,000 32-px patches, one token each (up to 2.46 on models with a patch multiplier), so
 * one image can bill ~10,000–25,000 input tokens. Sent by URL or file id its bytes are not in the request, and
 * it was held at the media bound (4,096 tokens): held 0.010653, billed 0.025125. With cap-output on (SPEC §6:
 * `spend <= max_budget` is an invariant) an image at `detail: "original"`, chat `image_url` or Responses
 * `input_image`, is held at `IMAGE_ORIGINAL_DETAIL_TOKENS` (25,000) at least.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
const ORIGINAL_DETAIL_PATCHES = 10_000

withScriptedGateway({ cap_output_tokens: true, pricing: { 'plain:vision': { input_per_million: 2.5, output_per_million: 15 } } }, (started) => ({ upstream, gw } = started))

test('cap-output on: an image by URL at detail "original" (10,000 patches) never takes spend past max_budget', async () => {
  upstream.answer(({ body }) =>
    jsonResponse({
      id: 'c1', object: 'chat.completion', created: 1, model: body.model,
      choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: ORIGINAL_DETAIL_PATCHES + 20, completion_tokens: 5, total_tokens: ORIGINAL_DETAIL_PATCHES + 25 },
    }),
  )
  const body = {
    model: 'plain:vision',
    max_completion_tokens: 16,
    messages: [{ role: 'user', content: [
      { type: 'text', text: 'Read the small print.' },
      { type: 'image_url', image_url: { url: 'https://example.com/scan.png', detail: 'original' } },
    ] }],
  }
  const { spend, budget } = await spendAtHeldBudget(gw, '/v1/chat/completions', body, 'chat')
  expect(spend).toBeLessThanOrEqual(budget)
})

test('cap-output on: a Responses input_image by file_id at detail "original" never takes spend past max_budget', async () => {
  upstream.answer(() => jsonResponse({
    id: 'resp_original', object: 'response', status: 'completed', model: 'plain:vision',
    usage: { input_tokens: ORIGINAL_DETAIL_PATCHES + 20, input_tokens_details: { cached_tokens: 0 }, output_tokens: 5, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: ORIGINAL_DETAIL_PATCHES + 25 },
    output: [{ type: 'message', id: 'msg_original', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'ok', annotations: [] }] }],
  }))
  const body = {
    model: 'plain:vision', max_output_tokens: 16, store: false, input: [{ role: 'user', content: [
      { type: 'input_text', text: 'Read the small print.' },
      { type: 'input_image', file_id: 'file-scan', detail: 'original' },
    ] }],
  }
  const { spend, budget } = await spendAtHeldBudget(gw, '/v1/responses', body, 'responses')
  // Before the fix: held 0.010668 (the media bound), billed 0.025125.
  expect(spend).toBeLessThanOrEqual(budget)
})
