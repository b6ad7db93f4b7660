import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { spendAtHeldBudget } from './support/held-budget'
import { jsonResponse, type ScriptedCall, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * Video sent as an image or a file is held at the window (src/budget/part-media.ts `partIsTimedMedia`,
 * test/media-named-video-hold.test.ts): Gemini bills an hour of video 1,044,000 tokens whatever its bytes. A data URL
 * is read by `inlineBase64`, whose pattern took at most 200 characters of parameters after the media type
 * (`/^data:([^,;]{0,200})[^,]{0,200},/`). RFC 2397 puts no bound there (`;name=…`, `;codecs=…`); past it, the
 * pattern does not match, so neither the declared `video/mp4` nor the first bytes (the `ftyp` box: the "base64" read
 * is then the URL's own text) were seen, and the video was held at its bytes, as an image. The comma is now
 * searched for however far it is.
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

// A still frame held for an hour: an MP4 (`ftyp` box first) of a few kilobytes.
const mp4 = Buffer.alloc(3000)
mp4.write('\0\0\0\x18ftypisom', 0, 'latin1')
const longName = `${'keynote-2026-all-hands-'.repeat(10)}.mp4`
const VIDEO_WITH_NAME = `data:video/mp4;name=${longName};base64,${mp4.toString('base64')}`

test('cap-output on: an inline video whose data URL carries a long name parameter never takes spend past max_budget (image_url)', async () => {
  upstream.answer(billTheHour)
  const body = {
    model: MODEL, max_tokens: 16,
    messages: [{ role: 'user', content: [{ type: 'text', text: 'Summarise the talk.' }, { type: 'image_url', image_url: { url: VIDEO_WITH_NAME } }] }],
  }
  const { second, spend, budget } = await spendAtHeldBudget(gw, '/v1/chat/completions', body, 'long-param-image')
  expect(second.status).toBe(200)
  expect(spend).toBeLessThanOrEqual(budget)
})

test('cap-output on: an inline video whose data URL carries a long name parameter never takes spend past max_budget (file)', async () => {
  upstream.answer(billTheHour)
  const body = {
    model: MODEL, max_tokens: 16,
    messages: [{ role: 'user', content: [{ type: 'text', text: 'Summarise the talk.' }, { type: 'file', file: { file_data: VIDEO_WITH_NAME } }] }],
  }
  const { second, spend, budget } = await spendAtHeldBudget(gw, '/v1/chat/completions', body, 'long-param-file')
  expect(second.status).toBe(200)
  expect(spend).toBeLessThanOrEqual(budget)
})
