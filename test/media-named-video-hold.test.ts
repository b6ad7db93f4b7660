import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { spendAtHeldBudget } from './support/held-budget'
import { jsonResponse, type ScriptedCall, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * Video (or audio) sent as a chat `image_url` part is billed as video: LiteLLM (and the one-api / new-api family)
 * take Gemini media through `image_url`, by its `format` (`"video/mp4"`) or, without one, the type its URL's
 * extension says (`…/talk.mp4`), and Gemini bills it by its length (258 tokens a frame at 1 fps + 32 a second of
 * sound: an hour is 1,044,000 tokens). With cap-output on (SPEC §6: `spend <= max_budget`) such a part is held as
 * its `video_url` twin is (test/video-hold.test.ts), at the row's window. It was held as an image, at the media
 * bound: held 1,608 µ$, billed 313,243.
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

test('cap-output on: a video named by image_url with format video/mp4 never takes spend past max_budget', async () => {
  upstream.answer(billTheHour)
  const body = {
    model: MODEL, max_tokens: 16,
    messages: [{ role: 'user', content: [{ type: 'text', text: 'Summarise the talk.' }, { type: 'image_url', image_url: { url: 'gs://talks/keynote', format: 'video/mp4' } }] }],
  }
  const { second, spend, budget } = await spendAtHeldBudget(gw, '/v1/chat/completions', body, 'fx-image-url-format-video')
  expect(second.status).toBe(200)
  expect(spend).toBeLessThanOrEqual(budget)
})

test('cap-output on: a video named by an image_url ending .mp4 never takes spend past max_budget', async () => {
  upstream.answer(billTheHour)
  const body = {
    model: MODEL, max_tokens: 16,
    messages: [{ role: 'user', content: [{ type: 'text', text: 'Summarise the talk.' }, { type: 'image_url', image_url: { url: 'https://cdn.example.com/keynote.mp4' } }] }],
  }
  const { second, spend, budget } = await spendAtHeldBudget(gw, '/v1/chat/completions', body, 'fx-image-url-mp4')
  expect(second.status).toBe(200)
  expect(spend).toBeLessThanOrEqual(budget)
})

/**
 * The same inline: a video sent as data (a still frame held for an hour compresses to a few kilobytes, the reason an
 * inline `video_url` is held as a file by reference) in an `image_url` data URL, a chat `file` part or a Responses
 * `input_file` (LiteLLM sends a file whose data is `video/*` to Gemini as a video) was held at its bytes.
 */
const TINY_MP4 = `data:video/mp4;base64,${Buffer.alloc(3000).toString('base64')}`

test('cap-output on: a short inline video in an image_url data URL never takes spend past max_budget', async () => {
  upstream.answer(billTheHour)
  const body = {
    model: MODEL, max_tokens: 16,
    messages: [{ role: 'user', content: [{ type: 'text', text: 'Summarise the talk.' }, { type: 'image_url', image_url: { url: TINY_MP4 } }] }],
  }
  const { second, spend, budget } = await spendAtHeldBudget(gw, '/v1/chat/completions', body, 'fx-image-url-inline-video')
  expect(second.status).toBe(200)
  expect(spend).toBeLessThanOrEqual(budget)
})

test('cap-output on: a short inline video in a chat file part never takes spend past max_budget', async () => {
  upstream.answer(billTheHour)
  const body = {
    model: MODEL, max_tokens: 16,
    messages: [{ role: 'user', content: [{ type: 'text', text: 'Summarise the talk.' }, { type: 'file', file: { file_data: TINY_MP4, filename: 'keynote.mp4' } }] }],
  }
  const { second, spend, budget } = await spendAtHeldBudget(gw, '/v1/chat/completions', body, 'fx-file-inline-video')
  expect(second.status).toBe(200)
  expect(spend).toBeLessThanOrEqual(budget)
})

test('cap-output on: a short inline video in a Responses input_file never takes spend past max_budget', async () => {
  upstream.answer(({ body }: ScriptedCall) =>
    jsonResponse({
      id: 'resp_1', object: 'response', created_at: 1, model: body.model, status: 'incomplete',
      output: [{ type: 'message', id: 'msg_1', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'ok', annotations: [] }] }],
      usage: { input_tokens: HOUR_OF_VIDEO + 10, output_tokens: body.max_output_tokens, total_tokens: HOUR_OF_VIDEO + 10 + body.max_output_tokens },
    }))
  const body = {
    model: MODEL, max_output_tokens: 16, store: false,
    input: [{ role: 'user', content: [{ type: 'input_text', text: 'Summarise the talk.' }, { type: 'input_file', filename: 'keynote.mp4', file_data: TINY_MP4 }] }],
  }
  const { second, spend, budget } = await spendAtHeldBudget(gw, '/v1/responses', body, 'fx-responses-inline-video')
  expect(second.status).toBe(200)
  expect(spend).toBeLessThanOrEqual(budget)
})
