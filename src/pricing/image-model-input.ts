/**
 * What the Responses `image_generation` tool's image model reads — the text it is given and the reference images
 * (input images, earlier generated ones, a mask) — billed by OpenAI per million tokens at the image model's own rates
 * and reported apart from the usage, in `tool_usage.image_gen` (`input_tokens_details: {text_tokens, image_tokens}`).
 * The price row gives the rates beside the tool's per-image price, under `server_tools` (USD per million tokens):
 * `image_generation_text_input_per_million` and `image_generation_image_input_per_million` (gpt-image-1: $5 and $10;
 * gpt-image-1-mini: $2 and $2.50).
 */
import { MAX_REQUEST_MICROS } from '../budget/money'
import type { Price } from './price'

export const IMAGE_TEXT_INPUT_RATE = 'image_generation_text_input_per_million'
export const IMAGE_IMAGE_INPUT_RATE = 'image_generation_image_input_per_million'

/**
 * The most input tokens one reference image costs the image model (GPT Image 1 and 1 mini). At low input fidelity an
 * image is fitted in 2048×2048 and scaled to a 512px shortest side, then billed 65 tokens plus 129 per 512px tile: 4
 * tiles at most, 581 tokens. High input fidelity adds up to 6,240 tokens (a portrait or landscape image; 4,160 square).
 */
export const LOW_FIDELITY_IMAGE_TOKENS = 65 + 4 * 129
export const HIGH_FIDELITY_IMAGE_TOKENS = LOW_FIDELITY_IMAGE_TOKENS + 6_240

/** The image models whose reference images those bounds are documented for; the tool's default is `gpt-image-1`. */
export const BOUNDED_IMAGE_MODELS = new Set<unknown>([undefined, 'gpt-image-1', 'gpt-image-1-mini'])

/**
 * What a request lets the image model read, as held: up to `calls` image generations, each reading every image
 * the request gives it (`images`: its input images, earlier generated ones, a mask) and those generated before it in
 * the same response, at `tokensPerImage` each; and text, at most the whole turn (its prompt and output) per call.
 * `reads`: where the request gives the image model images to read (or asks for an edit, or high fidelity), served
 * only where the row prices that input; null for a generation from text alone, served without, as before those rates.
 */
export interface ImageModelInput {
  readonly calls: number
  readonly images: number
  readonly tokensPerImage: number
  readonly reads: string | null
}

/** Image model input tokens, as `tool_usage.image_gen` reports them. */
export interface ImageModelTokens {
  textTokens: number
  imageTokens: number
}

/** The row's two rates (micro-USD per million), or undefined unless it sets both. */
export function imageModelRates(price: Price): { text: number; image: number } | undefined {
  const tools = price.serverTools ?? {}
  if (!Object.hasOwn(tools, IMAGE_TEXT_INPUT_RATE) || !Object.hasOwn(tools, IMAGE_IMAGE_INPUT_RATE)) return undefined
  return { text: tools[IMAGE_TEXT_INPUT_RATE]!, image: tools[IMAGE_IMAGE_INPUT_RATE]! }
}

/**
 * The most the image model may read: `calls` calls, call k (from 0) reading the request's images and the k generated
 * before it; text, the turn's prompt and output tokens each call.
 */
export function heldImageModelTokens(m: ImageModelInput, promptTokens: number, completionTokens: number): ImageModelTokens {
  const images = m.calls * m.images + (m.calls * (m.calls - 1)) / 2
  return { textTokens: m.calls * (promptTokens + completionTokens), imageTokens: images * m.tokensPerImage }
}

/**
 * Reported image model input, at most what was held for it (a hard bound: cap-output on): its images always, its text
 * where the hold bounds the turn's prompt (`promptBound`: the estimate bounds the input).
 */
export function imageModelTokensWithin(reported: ImageModelTokens, m: ImageModelInput, promptBound: number | undefined, outputBound: number): ImageModelTokens {
  const held = heldImageModelTokens(m, promptBound ?? Infinity, outputBound)
  return { textTokens: Math.min(reported.textTokens, held.textTokens), imageTokens: Math.min(reported.imageTokens, held.imageTokens) }
}

/** `tool_usage.image_gen`'s input counts, or undefined when the answer reports none. */
export function reportedImageModelTokens(toolUsage: unknown): ImageModelTokens | undefined {
  const imageGen = (toolUsage as { image_gen?: unknown } | null | undefined)?.image_gen as
    | { input_tokens?: unknown; input_tokens_details?: { text_tokens?: unknown; image_tokens?: unknown } | null }
    | null
    | undefined
  if (!imageGen || typeof imageGen !== 'object') return undefined
  const n = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? Math.ceil(v) : 0)
  const textTokens = n(imageGen.input_tokens_details?.text_tokens)
  // Input not split into text and images is billed as images, the dearer.
  return { textTokens, imageTokens: Math.max(n(imageGen.input_tokens_details?.image_tokens), n(imageGen.input_tokens) - textTokens) }
}

/** What those tokens cost at the row's rates, micro-USD rounded up; 0 where the row sets none. */
export function imageModelInputCost(price: Price, tokens: ImageModelTokens): number {
  const rates = imageModelRates(price)
  if (!rates) return 0
  const total = tokens.textTokens * rates.text + tokens.imageTokens * rates.image
  if (!Number.isFinite(total)) return MAX_REQUEST_MICROS
  return Math.min(Math.ceil(total / 1_000_000), MAX_REQUEST_MICROS)
}
