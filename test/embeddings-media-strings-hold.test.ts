import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { spendAtHeldBudget } from './support/held-budget'
import { jsonResponse, type ScriptedCall, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * The embeddings estimate counts every string input as text: its UTF-8 bytes plus 8. LiteLLM, an OpenAI-compatible
 * server the gateway already defends against elsewhere (PDFs by `image_url`), serves Gemini Embedding 2 on
 * `/v1/embeddings` and reads a string input that is a data URI (`data:video/mp4;base64,…`), a Cloud Storage URL
 * (`gs://bucket/clip.mp4`) or a Gemini file reference (`files/abc123`) as that media, not as text
 * (docs.litellm.ai/blog/gemini_embedding_2_multimodal: images, audio, video up to 120 s, PDFs up to 6 pages).
 * Gemini bills a video by its length (~263 tokens a second at the default resolution: 258 a frame at 1 fps and 32
 * a second of sound), so a 12-byte reference to a 2-minute clip bills ~31,560 tokens, held at 20. Neither the
 * configured media bound nor the row's `media_part_tokens` reaches this estimate. With cap-output on, SPEC §6
 * makes `spend <= max_budget` an invariant.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
const MODEL = 'plain:gemini/gemini-embedding-2'
const VIDEO_TOKENS = 120 * 263

withScriptedGateway(
  { cap_output_tokens: true, pricing: { [MODEL]: { input_per_million: 1, output_per_million: 0, media_part_tokens: VIDEO_TOKENS } } },
  (started) => ({ upstream, gw } = started),
)

const embedTheMedia = ({ body }: ScriptedCall) => {
  const inputs: string[] = typeof body.input === 'string' ? [body.input] : body.input
  const tokens = inputs.reduce((n, s) => n + (/^(data:|gs:\/\/|files\/)/.test(s) ? VIDEO_TOKENS : Buffer.byteLength(s) + 2), 0)
  return jsonResponse({
    object: 'list',
    data: inputs.map((_, index) => ({ object: 'embedding', index, embedding: [0.1, 0.2] })),
    model: body.model,
    usage: { prompt_tokens: tokens, total_tokens: tokens },
  })
}

test('cap-output on: an embeddings input naming a video file never takes spend past max_budget', async () => {
  upstream.answer(embedTheMedia)
  const { second, spend, budget } = await spendAtHeldBudget(gw, '/v1/embeddings', { model: MODEL, input: ['files/abc123'] }, 'emb-media')
  expect(upstream.calls.at(-1)!.body.input).toEqual(['files/abc123'])
  expect(second.status).toBe(200)
  expect(spend).toBeLessThanOrEqual(budget)
})
