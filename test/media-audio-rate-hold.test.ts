import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { spendAtHeldBudget } from './support/held-budget'
import { jsonResponse, type ScriptedCall, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * Media whose kind the body does not state may be billed as audio: a video by URL (its sound track), a file by id
 * or URL that is a recording. Gemini 2.5 Flash, priced as Google does ($0.30/M text, image and video; $1.00/M
 * audio), with its 1,048,576-token window on the row:
 *
 *  - an hour of video at the default media resolution is 258 tokens a frame (1 fps) + 32 audio tokens a second:
 *    928,800 + 115,200 = 1,044,000 tokens, inside the window the hold counts; LiteLLM and OpenRouter report the
 *    sound track as `prompt_tokens_details.audio_tokens`, which settlement bills at `audio_input_per_million`;
 *  - a recording by file id (32 tokens a second) fills the window with audio tokens alone.
 *
 * With cap-output on (SPEC §6: `spend <= max_budget`) such a request's input is held at the dearest input rate,
 * audio included. It was held at the text rate only: the recording held 393,286 µ$ and billed 1,000,033.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
const MODEL = 'plain:google/gemini-2.5-flash'
const WINDOW = 1_048_576

withScriptedGateway(
  {
    cap_output_tokens: true,
    pricing: { [MODEL]: { input_per_million: 0.3, output_per_million: 2.5, audio_input_per_million: 1, context_window_tokens: WINDOW } },
  },
  (started) => ({ upstream, gw } = started),
)

const billing = (prompt: number, audio: number) => ({ body }: ScriptedCall) =>
  jsonResponse({
    id: 'gen-1', object: 'chat.completion', created: 1, model: body.model,
    choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'length' }],
    usage: {
      prompt_tokens: prompt, completion_tokens: body.max_tokens, total_tokens: prompt + body.max_tokens,
      prompt_tokens_details: { audio_tokens: audio, cached_tokens: 0 },
    },
  })

test('cap-output on: one hour of video (its soundtrack billed at the audio rate) never takes spend past max_budget', async () => {
  const seconds = 3600
  upstream.answer(billing(seconds * (258 + 32) + 10, seconds * 32))
  const body = {
    model: MODEL, max_tokens: 16,
    messages: [{ role: 'user', content: [{ type: 'text', text: 'Summarise the talk.' }, { type: 'video_url', video_url: { url: 'https://www.youtube.com/watch?v=dQw4w9WgXcQ' } }] }],
  }
  const { second, spend, budget } = await spendAtHeldBudget(gw, '/v1/chat/completions', body, 'fx-video-sound', { probeBudget: 2 })
  expect(second.status).toBe(200)
  // The prompt billed is inside what the hold counted: only its rate differs.
  expect(upstream.calls.at(-1)!.body.messages[0].content[1].type).toBe('video_url')
  expect(spend).toBeLessThanOrEqual(budget)
})

test('cap-output on: a recording sent by file id (audio tokens only) never takes spend past max_budget', async () => {
  upstream.answer(billing(1_000_000, 999_990))
  const body = {
    model: MODEL, max_tokens: 16,
    messages: [{ role: 'user', content: [{ type: 'text', text: 'Transcribe it.' }, { type: 'file', file: { file_id: 'https://generativelanguage.googleapis.com/v1beta/files/rec-1', format: 'audio/mpeg' } }] }],
  }
  const { second, spend, budget } = await spendAtHeldBudget(gw, '/v1/chat/completions', body, 'fx-file-audio', { probeBudget: 2 })
  expect(second.status).toBe(200)
  expect(spend).toBeLessThanOrEqual(budget)
})
