import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { spendAtHeldBudget } from './support/held-budget'
import { jsonResponse, type ScriptedCall, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * Untyped inline data is held as the video or audio its first bytes say it is, whatever LiteLLM's `format` field
 * says. `format` is LiteLLM's own: the one-api family, which types data its data URL leaves untyped with Go's
 * `http.DetectContentType` (untyped-media-sniff-past-line-breaks.test.ts), never reads it, and bills
 * `data:;base64,<an MP4>` as the video it is (~1M tokens for an hour) even with `format: "image/png"`. The gateway
 * cannot tell which server is upstream: only the data URL's own type, which every server reads, spares the sniff; a
 * `format` counts beside the bytes, the worse of the two. It spared the sniff, the MP4 was held at its bytes, and
 * with cap-output on (SPEC §6: spend <= max_budget) the spend passed the budget.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
const MODEL = 'plain:gemini/gemini-2.5-flash'
const HOUR_OF_VIDEO = 3600 * (258 + 32)

withScriptedGateway(
  {
    cap_output_tokens: true,
    pricing: { [MODEL]: { input_per_million: 0.3, output_per_million: 2.5, context_window_tokens: 1_048_576 } },
  },
  (started) => ({ upstream, gw } = started),
)

const billTheHour = ({ body }: ScriptedCall) =>
  jsonResponse({
    id: 'cmpl-1', object: 'chat.completion', created: 1, model: body.model,
    choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'length' }],
    usage: { prompt_tokens: HOUR_OF_VIDEO + 10, completion_tokens: body.max_tokens, total_tokens: HOUR_OF_VIDEO + 10 + body.max_tokens },
  })

const mp4 = Buffer.alloc(3000)
Buffer.concat([Buffer.from([0, 0, 0, 0x20]), Buffer.from('ftypisom\0\0\x02\0isomiso2avc1mp41', 'latin1')]).copy(mp4)
const MP4 = mp4.toString('base64')

const imageBody = (image_url: Record<string, unknown>) => ({
  model: MODEL, max_tokens: 16,
  messages: [{ role: 'user', content: [{ type: 'text', text: 'Summarise the talk.' }, { type: 'image_url', image_url }] }],
})
const fileBody = (file: Record<string, unknown>) => ({
  model: MODEL, max_tokens: 16,
  messages: [{ role: 'user', content: [{ type: 'text', text: 'Summarise the talk.' }, { type: 'file', file }] }],
})

test('control: an untyped MP4 in an image_url data URL, no format, keeps spend within max_budget', async () => {
  upstream.answer(billTheHour)
  const { second, spend, budget } = await spendAtHeldBudget(gw, '/v1/chat/completions', imageBody({ url: `data:;base64,${MP4}` }), 'gk-fmt-control')
  expect(second.status).toBe(200)
  expect(spend).toBeLessThanOrEqual(budget)
})

test('an untyped MP4 data URL with format "image/png" (read by LiteLLM only) never takes spend past max_budget', async () => {
  upstream.answer(billTheHour)
  const { second, spend, budget } = await spendAtHeldBudget(gw, '/v1/chat/completions', imageBody({ url: `data:;base64,${MP4}`, format: 'image/png' }), 'gk-fmt-image')
  expect(second.status).toBe(200)
  expect(spend).toBeLessThanOrEqual(budget)
})

test('an untyped MP4 in a file part with format "text/plain" never takes spend past max_budget', async () => {
  upstream.answer(billTheHour)
  const { second, spend, budget } = await spendAtHeldBudget(gw, '/v1/chat/completions', fileBody({ file_data: MP4, format: 'text/plain' }), 'gk-fmt-file')
  expect(second.status).toBe(200)
  expect(spend).toBeLessThanOrEqual(budget)
})
