import type { TokenEstimate } from '../budget/estimate'
import { heldInputTokens, type Price, type RequestedFeatures } from '../pricing/price'
import { positiveInt } from '../pricing/body-values'
import { firstMaxOutputIn } from './output-cap'
import { ANSWER_MAX_BYTES } from '../providers/answer-text'

/**
 * One output token of text as an answer's JSON writes it: a token is a few characters, each at most 6 bytes
 * escaped (`\u00e9`); tool arguments are JSON in a string, escaped again.
 */
const TEXT_TOKEN_BYTES = 64

/**
 * One entry of a token's logprobs, the token's own or one of its `top_logprobs` alternatives, as OpenAI writes it:
 * `{"token":" the","logprob":-0.0009307146,"bytes":[32,116,104,101]}` is ~65 bytes (a real-shaped n: 2,
 * top_logprobs: 20 chat answer of 28,000 tokens was 36.6 MiB: 65 bytes an entry), with room for longer tokens.
 */
const LOGPROB_ENTRY_BYTES = 128

/**
 * One image the `image_generation` tool renders, base64 in its call item: gpt-image-1's largest, 1536×1024, as
 * an RGBA PNG that does not compress is 8.4 MB of base64; with room for larger sizes.
 */
const GENERATED_IMAGE_BYTES = 16 * 1024 * 1024

/** An output token of an image a chat answer carries (`modalities: ["image"]`): 1,290 tokens of Gemini's make a 1024×1024 image, ≤ 5.6 MB as base64 PNG. */
const IMAGE_TOKEN_BYTES = 4096

/**
 * An output token of audio a chat answer carries (`modalities: ["audio"]`), base64 in `message.audio.data`: the
 * gateway's own meter takes audio for 24 kHz 16-bit mono PCM, 48,000 bytes a second at ~20 tokens a second
 * (src/metering/generated-output.ts), ~3,200 bytes of base64 a token (a 9-minute wav answer measured 3,201); with room.
 */
const AUDIO_TOKEN_BYTES = 4096

/** An input token the answer echoes (a Response's `instructions` and `tools`): the estimate counts a byte a token, written back escaped at most 6 bytes. */
const ECHOED_TOKEN_BYTES = 6

/**
 * A token of what a server tool brought back that the answer carries (an Anthropic web fetch's `web_fetch_tool_result`
 * holds the fetched document whole, a PDF as base64): Anthropic counts a PDF page as its text plus an image of the page
 * (~1,500-3,000 tokens), while the page may be a scan of hundreds of KB, 4/3 of that as base64 (three 10 MB scanned
 * PDFs counted 40K tokens each measured 333 bytes a token); a page of text is far less. With room.
 */
const TOOL_RESULT_TOKEN_BYTES = 1024

/**
 * The most output a model is taken to make a choice when told no max: the largest output of today's models (GPT-5's
 * and Claude's 128K), or its price row's context window if smaller. Not the window itself: a 1M window would read a
 * plain request's answer (a gzip bomb's, say) to 64 MiB instead of the floor.
 */
const UNTOLD_MAX_OUTPUT_TOKENS = 128 * 1024

/**
 * The output tokens an answer can carry: the hold's (the max the provider was sent, the client's or cap-output's or
 * the clamp's, all choices) when a field the provider reads (`readFields`) carries one; otherwise nothing stops the
 * provider at the hold's default estimate (cap-output off, no max asked for), and it makes up to
 * `UNTOLD_MAX_OUTPUT_TOKENS` (or its price row's context window, if smaller) each choice.
 */
export function answerOutputTokens(upstreamBody: Record<string, unknown>, readFields: string[], estimate: TokenEstimate, price: Pick<Price, 'contextWindowTokens'> | null): number {
  if (firstMaxOutputIn(upstreamBody, readFields) !== null) return estimate.outputTokens
  const choices = positiveInt(upstreamBody.n) ? upstreamBody.n : 1
  return Math.max(estimate.outputTokens, Math.min(price?.contextWindowTokens ?? UNTOLD_MAX_OUTPUT_TOKENS, UNTOLD_MAX_OUTPUT_TOKENS) * choices)
}

/**
 * The most a JSON answer read whole can be and still be an answer (`readAnswer`) never goes past this: it is held in
 * memory twice over (its bytes, then its text) while it is parsed.
 */
export const ANSWER_CEILING_BYTES = 256 * 1024 * 1024

/**
 * The most bytes of a chat, Messages or Responses JSON answer read whole: what the request can legitimately make,
 * as its hold counts it (the output tokens it can carry, all choices: `answerOutputTokens`), with `ANSWER_MAX_BYTES` the floor and
 * `ANSWER_CEILING_BYTES` the ceiling. Each output token is text, with its logprobs entries when asked for (the
 * token's own and `top_logprobs` more), or an image's or audio's when images or audio are asked for; each `image_generation` call
 * allowed adds an image, each server tool's results held as input (`heldInputTokens`: a web fetch's `max_uses` ×
 * `max_content_tokens`, the per-use allowance of the others) come back in it, and a format that writes the request
 * back (Responses) its input. A decompression bomb
 * answers a small request, so its bound stays the floor.
 */
export function answerMaxBytes(body: Record<string, unknown>, estimate: TokenEstimate, features: RequestedFeatures, echoesInput: boolean, toolUseInputTokens: number): number {
  const logprobs = body.logprobs === true || positiveInt(body.top_logprobs) || asksLogprobs(body.include)
  const entries = logprobs ? 1 + (positiveInt(body.top_logprobs) ? body.top_logprobs : 0) : 0
  const perToken = Math.max(TEXT_TOKEN_BYTES + entries * LOGPROB_ENTRY_BYTES, features.imageOutput ? IMAGE_TOKEN_BYTES : 0, features.audioOutput ? AUDIO_TOKEN_BYTES : 0)
  const images = Object.hasOwn(features.serverTools, 'image_generation') ? features.serverTools.image_generation! : 0
  const toolResults = heldInputTokens(0, features, toolUseInputTokens)
  const bytes = estimate.outputTokens * perToken + images * GENERATED_IMAGE_BYTES + toolResults * TOOL_RESULT_TOKEN_BYTES + (echoesInput ? estimate.inputTokens * ECHOED_TOKEN_BYTES : 0)
  return Math.min(ANSWER_CEILING_BYTES, Math.max(ANSWER_MAX_BYTES, bytes))
}

/** A Responses `include` asking for the output text's logprobs. */
const asksLogprobs = (include: unknown): boolean => Array.isArray(include) && include.includes('message.output_text.logprobs')
