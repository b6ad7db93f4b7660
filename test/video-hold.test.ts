import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { spendAtHeldBudget } from './support/held-budget'
import { jsonResponse, type ScriptedCall, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * A video is billed by its length: Gemini ~300 tokens a second (frames and sound), a 35-minute talk ~630,000
 * input tokens, inside Gemini 2.5's 1,048,576-token window its price row states. OpenAI-compatible servers take
 * it as a chat part, `{type: 'video_url', video_url: {url}}`, a URL (YouTube links on AI Studio) or a data URL
 * (https://openrouter.ai/docs/features/multimodal/videos; vLLM too). Neither a URL nor a video's bytes bound its
 * length (a still picture for 35 minutes compresses to almost nothing), so with cap-output on (SPEC §6:
 * `spend <= max_budget`) a video part is held as a file by reference: the row's `context_window_tokens`, or the
 * PDF bound. It was held like an image, at the media bound: held 1,289 µ$, billed 189,046.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
const GEMINI_WINDOW = 1_048_576
const VIDEO_TOKENS = 35 * 60 * 300

withScriptedGateway(
  {
    cap_output_tokens: true,
    pricing: { 'plain:google/gemini-2.5-flash': { input_per_million: 0.3, output_per_million: 2.5, context_window_tokens: GEMINI_WINDOW } },
  },
  (started) => ({ upstream, gw } = started),
)

const billTheVideo = ({ body }: ScriptedCall) =>
  jsonResponse({
    id: 'gen-1', object: 'chat.completion', created: 1, model: body.model,
    choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'length' }],
    usage: { prompt_tokens: VIDEO_TOKENS + 20, completion_tokens: body.max_tokens, total_tokens: VIDEO_TOKENS + 20 + body.max_tokens },
  })

test('cap-output on: a video by URL never takes spend past max_budget', async () => {
  upstream.answer(billTheVideo)
  const body = {
    model: 'plain:google/gemini-2.5-flash', max_tokens: 16,
    messages: [{ role: 'user', content: [{ type: 'text', text: 'Summarise the talk.' }, { type: 'video_url', video_url: { url: 'https://www.youtube.com/watch?v=dQw4w9WgXcQ' } }] }],
  }
  const { second, spend, budget } = await spendAtHeldBudget(gw, '/v1/chat/completions', body, 'video-url')
  expect(upstream.calls.at(-1)!.body.messages[0].content[1].type).toBe('video_url')
  expect(second.status).toBe(200)
  expect(spend).toBeLessThanOrEqual(budget)
})

test('cap-output on: a short inline video (a data URL of a few bytes) never takes spend past max_budget', async () => {
  upstream.answer(billTheVideo)
  const body = {
    model: 'plain:google/gemini-2.5-flash', max_tokens: 16,
    messages: [{ role: 'user', content: [{ type: 'text', text: 'Summarise the talk.' }, { type: 'video_url', video_url: { url: `data:video/mp4;base64,${Buffer.alloc(3000).toString('base64')}` } }] }],
  }
  const { second, spend, budget } = await spendAtHeldBudget(gw, '/v1/chat/completions', body, 'video-inline')
  expect(second.status).toBe(200)
  expect(spend).toBeLessThanOrEqual(budget)
})
