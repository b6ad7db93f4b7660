import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { spendAtHeldBudget } from './support/held-budget'
import { jsonResponse, type ScriptedCall, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * Inline data that declares no type (`data:;base64,…`, bare base64) is held as video when it starts as a video file
 * does (`sniffedMedia`, src/budget/part-media.ts), but only the first 16 base64 *characters* were decoded, whitespace
 * included. Base64 decoders skip line breaks (Go's `encoding/base64`, which the one-api family decodes with before
 * `http.DetectContentType`; Python's `b64decode`; Node's `Buffer.from`), so the same MP4 with line breaks after the
 * comma is still a video upstream, yet was sniffed as nothing and held at its bytes: a still frame held for an hour
 * (a few kB) is billed ~1M tokens. The first 16 characters of the base64 alphabet are decoded now.
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
const WRAPPED = `\r\n`.repeat(8) + MP4

const fileBody = (data: string) => ({
  model: MODEL, max_tokens: 16,
  messages: [{ role: 'user', content: [{ type: 'text', text: 'Summarise the talk.' }, { type: 'file', file: { file_data: data } }] }],
})

test('control: an untyped inline MP4 (data:;base64,) keeps spend within max_budget', async () => {
  upstream.answer(billTheHour)
  const { second, spend, budget } = await spendAtHeldBudget(gw, '/v1/chat/completions', fileBody(`data:;base64,${MP4}`), 'gd-ws-control')
  expect(second.status).toBe(200)
  expect(spend).toBeLessThanOrEqual(budget)
})

test('an untyped inline MP4 with line breaks after the comma never takes spend past max_budget', async () => {
  upstream.answer(billTheHour)
  const { second, spend, budget } = await spendAtHeldBudget(gw, '/v1/chat/completions', fileBody(`data:;base64,${WRAPPED}`), 'gd-ws-file')
  expect(second.status).toBe(200)
  expect(spend).toBeLessThanOrEqual(budget)
})

test('the same in an image_url data URL never takes spend past max_budget', async () => {
  upstream.answer(billTheHour)
  const body = {
    model: MODEL, max_tokens: 16,
    messages: [{ role: 'user', content: [{ type: 'text', text: 'Summarise the talk.' }, { type: 'image_url', image_url: { url: `data:;base64,${WRAPPED}` } }] }],
  }
  const { second, spend, budget } = await spendAtHeldBudget(gw, '/v1/chat/completions', body, 'gd-ws-image')
  expect(second.status).toBe(200)
  expect(spend).toBeLessThanOrEqual(budget)
})
