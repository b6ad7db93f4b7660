import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { spendAtHeldBudget } from './support/held-budget'
import { jsonResponse, type ScriptedCall, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * Media by reference in chat parts of OpenAI-compatible servers, held as a file by reference (the row's context
 * window) as a video by URL is; before, they were counted by their JSON (~90 bytes, below even the media bound:
 * held 167 µ$ and billed 4,552 for the audio, 19 and 3,007 for the PDF):
 * - vLLM (and SGLang): `{type: 'audio_url', audio_url: {url}}` ("We also support `audio_url` content type for audio
 *   files", docs.vllm.ai), billed by the audio's length (Qwen2-Audio / Qwen2.5-Omni: 25 tokens a second, 3
 *   minutes = 4,500 prompt tokens);
 * - Mistral (named in SPEC §2 as an `openai` provider): `{type: 'document_url', document_url}` (Document QnA), a PDF
 *   by URL whose extracted text is the prompt (a 40-page paper ~30,000 tokens).
 * With cap-output on (SPEC §6: spend <= max_budget) the hold covers a few hundred tokens and the bill passes it.
 */
let upstream: ScriptedUpstream
let gw: TestGateway

withScriptedGateway(
  {
    cap_output_tokens: true,
    pricing: {
      // Audio input is a priced feature (402 without an audio rate, as `input_audio` is): here at the text rate.
      'plain:Qwen/Qwen2.5-Omni-7B': { input_per_million: 1, output_per_million: 2, audio_input_per_million: 1, context_window_tokens: 32_768 },
      'plain:mistral-small-latest': { input_per_million: 0.1, output_per_million: 0.3, context_window_tokens: 131_072 },
      'plain:omni-audio': { input_per_million: 1, output_per_million: 2, audio_input_per_million: 2 },
    },
  },
  (started) => ({ upstream, gw } = started),
)

/** The provider bills the media part at `tokens` (plus the text around it). */
const billing = (tokens: number) => ({ body }: ScriptedCall) =>
  jsonResponse({
    id: 'cmpl-1', object: 'chat.completion', created: 1, model: body.model,
    choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'length' }],
    usage: { prompt_tokens: tokens + 20, completion_tokens: body.max_tokens, total_tokens: tokens + 20 + body.max_tokens },
  })

const cases: [string, string, number, Record<string, unknown>][] = [
  ['an audio part by URL (vLLM audio_url)', 'plain:Qwen/Qwen2.5-Omni-7B', 3 * 60 * 25, { type: 'audio_url', audio_url: { url: 'https://example.com/meeting.mp3' } }],
  ['a PDF by URL (Mistral document_url)', 'plain:mistral-small-latest', 30_000, { type: 'document_url', document_url: 'https://arxiv.org/pdf/1805.04770' }],
]
for (const [what, model, tokens, part] of cases)
  test(`cap-output on: ${what} never takes spend past max_budget`, async () => {
    upstream.answer(billing(tokens))
    const body = { model, max_tokens: 16, messages: [{ role: 'user', content: [{ type: 'text', text: 'Summarise it.' }, part] }] }
    const { second, spend, budget } = await spendAtHeldBudget(gw, '/v1/chat/completions', body, `rt-aq-${part.type}`)
    expect(upstream.calls.at(-1)!.body.messages[0].content[1].type).toBe(part.type)
    expect(second.status).toBe(200)
    expect(spend).toBeLessThanOrEqual(budget)
  })

test('cap-output on: audio by URL is audio input, held at the audio rate where the row sets one', async () => {
  // Nearly three hours of audio at 25 tokens a second: near the by-reference bound (300,000), at twice the input rate.
  const tokens = 250_000
  upstream.answer(({ body }: ScriptedCall) =>
    jsonResponse({
      id: 'cmpl-2', object: 'chat.completion', created: 1, model: body.model,
      choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'length' }],
      usage: { prompt_tokens: tokens + 20, completion_tokens: body.max_tokens, total_tokens: tokens + 20 + body.max_tokens, prompt_tokens_details: { audio_tokens: tokens } },
    }),
  )
  const part = { type: 'audio_url', audio_url: { url: 'https://example.com/meeting.mp3' } }
  const body = { model: 'plain:omni-audio', max_tokens: 16, messages: [{ role: 'user', content: [{ type: 'text', text: 'Summarise it.' }, part] }] }
  const { second, spend, budget } = await spendAtHeldBudget(gw, '/v1/chat/completions', body, 'audio-url-rate')
  expect(second.status).toBe(200)
  // 250,000 audio tokens at $2/M: 500,000 µ$, past a hold at the input rate (~300,000).
  expect(spend).toBeGreaterThanOrEqual(500_000)
  expect(spend).toBeLessThanOrEqual(budget)
})
