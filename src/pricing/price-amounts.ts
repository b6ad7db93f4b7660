import { z } from 'zod'
import { microsToUsd, wholeMicros } from '../budget/money'
import type { Price } from './price'

/** What the API and the config file say about an amount that is finer than the ledger can count. */
const NOT_WHOLE_MICROS_PER_MILLION = 'must be a whole number of micro-USD per million tokens (at most 6 decimal places)'
const NOT_WHOLE_MICROS = 'must be a whole number of micro-USD (at most 6 decimal places)'

/** Amounts in USD that the ledger can hold exactly: the API's and the config file's schemas start from these. */
export const wholeMicrosPerMillion = z.number().nonnegative().refine((v) => wholeMicros(v) !== null, NOT_WHOLE_MICROS_PER_MILLION)
/** A whole amount of micro-USD: a per-request price, a budget (a finer budget would be rounded, to 0 perhaps). */
const wholeMicrosUsd = z.number().nonnegative().refine((v) => wholeMicros(v) !== null, NOT_WHOLE_MICROS)
export const wholeMicrosPerRequest = wholeMicrosUsd
/** A user's or key's `max_budget` as the admin API takes it, the rule said in /docs (a zod refine does not show there). */
export const budgetUsd = wholeMicrosUsd.max(1e9).describe('USD, a whole number of micro-USD (at most 6 decimal places)')

export class InvalidPrice extends Error {
  override name = 'InvalidPrice'
  constructor(readonly model: string, readonly field: string, reason: string) {
    super(`pricing.${model}.${field}: ${reason}`)
  }
}

const NOT_WHOLE_THOUSANDTHS = 'must be a multiplier with at most 3 decimal places'

/** A tier's multiplier of every token rate (2 = twice the plain rates), exact to the thousandth. */
export const tierMultiplier = z
  .number()
  .nonnegative()
  .max(100)
  .refine((v) => wholeThousandths(v) !== null, NOT_WHOLE_THOUSANDTHS)

function wholeThousandths(v: number): number | null {
  const scaled = v * 1000
  const whole = Math.round(scaled)
  return Math.abs(scaled - whole) <= 1e-9 ? whole : null
}

/** Where a row's long-context rates start, in prompt tokens (`Price.longContextAboveTokens`). */
export const longContextAboveTokens = z.number().int().min(1).max(1_000_000_000)

/** A threshold alone would price nothing: it says where `service_tiers.long_context` starts to apply. */
export const LONG_CONTEXT_NEEDS_TIER = 'needs service_tiers.long_context, the multiplier it starts'
export const lacksLongContextTier = (p: Pick<PriceAmounts, 'long_context_above_tokens' | 'service_tiers'>): boolean =>
  p.long_context_above_tokens != null && !Object.hasOwn(p.service_tiers ?? {}, 'long_context')

/** The most input tokens one media part bills on a row's model (`Price.mediaPartTokens`). */
export const mediaPartTokens = z.number().int().min(1).max(1_000_000_000)

/** A row's model's context window, in input tokens (`Price.contextWindowTokens`). */
export const contextWindowTokens = z.number().int().min(1).max(1_000_000_000)

/** The input a row's model's chat template writes on its own, in tokens (`Price.templateOverheadTokens`); 0: none. */
export const templateOverheadTokens = z.number().int().min(0).max(1_000_000_000)

/** Names of server tools and service tiers as providers spell them. */
export const featureName = z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'must be a lowercase name such as web_search or priority')

export interface PriceAmounts {
  input_per_million: number
  output_per_million: number
  cached_input_per_million?: number | null
  per_request?: number | null
  cache_write_per_million?: number | null
  cache_write_1h_per_million?: number | null
  audio_input_per_million?: number | null
  audio_output_per_million?: number | null
  image_output_per_million?: number | null
  /** USD per use, by server tool. */
  server_tools?: Record<string, number> | null
  /** Multiplier of every token rate, by service tier. */
  service_tiers?: Record<string, number> | null
  /** Prompt tokens past which `service_tiers.long_context` applies to every request. */
  long_context_above_tokens?: number | null
  /** The most input tokens one media part (an image, an audio clip) bills on this model. */
  media_part_tokens?: number | null
  /** The model's context window, in input tokens. */
  context_window_tokens?: number | null
  /** The input the model's chat template writes on its own, in tokens. */
  template_overhead_tokens?: number | null
}

interface PriceMicros {
  inputPerMillion: number
  outputPerMillion: number
  cachedInputPerMillion: number | null
  perRequest: number | null
  cacheWritePerMillion: number | null
  cacheWrite1hPerMillion: number | null
  audioInputPerMillion: number | null
  audioOutputPerMillion: number | null
  imageOutputPerMillion: number | null
  /** Micro-USD per use. */
  serverTools: Record<string, number>
  /** Thousandths. */
  tierMultipliers: Record<string, number>
  longContextAboveTokens: number | null
  mediaPartTokens: number | null
  contextWindowTokens: number | null
  templateOverheadTokens: number | null
}

/**
 * The amounts in micro-USD (multipliers in thousandths), exactly: a price is never rounded on its way into
 * the ledger, since rounding down would bill less than the operator set. Throws InvalidPrice naming the
 * model and field otherwise.
 */
export function priceMicros(model: string, p: PriceAmounts): PriceMicros {
  const exact = (field: string, usd: number, reason: string) => {
    const micros = wholeMicros(usd)
    if (micros === null || micros < 0) throw new InvalidPrice(model, field, micros === null ? reason : 'must not be negative')
    return micros
  }
  const perMillion = (field: keyof PriceAmounts) => {
    const usd = p[field] as number | null | undefined
    return usd == null ? null : exact(field, usd, NOT_WHOLE_MICROS_PER_MILLION)
  }
  const serverTools: Record<string, number> = {}
  for (const [tool, usd] of Object.entries(p.server_tools ?? {})) serverTools[tool] = exact(`server_tools.${tool}`, usd, NOT_WHOLE_MICROS)
  const tierMultipliers: Record<string, number> = {}
  for (const [tier, m] of Object.entries(p.service_tiers ?? {})) {
    const thousandths = wholeThousandths(m)
    if (thousandths === null || thousandths < 0) throw new InvalidPrice(model, `service_tiers.${tier}`, NOT_WHOLE_THOUSANDTHS)
    tierMultipliers[tier] = thousandths
  }
  const threshold = p.long_context_above_tokens
  if (threshold != null && !longContextAboveTokens.safeParse(threshold).success)
    throw new InvalidPrice(model, 'long_context_above_tokens', 'must be a whole number of tokens, at least 1')
  if (lacksLongContextTier(p)) throw new InvalidPrice(model, 'long_context_above_tokens', LONG_CONTEXT_NEEDS_TIER)
  const media = p.media_part_tokens
  if (media != null && !mediaPartTokens.safeParse(media).success) throw new InvalidPrice(model, 'media_part_tokens', 'must be a whole number of tokens, at least 1')
  const window = p.context_window_tokens
  if (window != null && !contextWindowTokens.safeParse(window).success) throw new InvalidPrice(model, 'context_window_tokens', 'must be a whole number of tokens, at least 1')
  const template = p.template_overhead_tokens
  if (template != null && !templateOverheadTokens.safeParse(template).success) throw new InvalidPrice(model, 'template_overhead_tokens', 'must be a whole number of tokens, 0 or more')
  return {
    inputPerMillion: exact('input_per_million', p.input_per_million, NOT_WHOLE_MICROS_PER_MILLION),
    outputPerMillion: exact('output_per_million', p.output_per_million, NOT_WHOLE_MICROS_PER_MILLION),
    cachedInputPerMillion: perMillion('cached_input_per_million'),
    perRequest: p.per_request == null ? null : exact('per_request', p.per_request, NOT_WHOLE_MICROS),
    cacheWritePerMillion: perMillion('cache_write_per_million'),
    cacheWrite1hPerMillion: perMillion('cache_write_1h_per_million'),
    audioInputPerMillion: perMillion('audio_input_per_million'),
    audioOutputPerMillion: perMillion('audio_output_per_million'),
    imageOutputPerMillion: perMillion('image_output_per_million'),
    serverTools,
    tierMultipliers,
    longContextAboveTokens: threshold ?? null,
    mediaPartTokens: media ?? null,
    contextWindowTokens: window ?? null,
    templateOverheadTokens: template ?? null,
  }
}

const usdOrNull = (micros: number | null | undefined) => (micros == null ? null : microsToUsd(micros))
const mapValues = (record: Readonly<Record<string, number>> | undefined, f: (v: number) => number) =>
  Object.fromEntries(Object.entries(record ?? {}).map(([k, v]) => [k, f(v)]))

/** A price's amounts as the API and /v1/models show them: USD, multipliers as plain numbers. */
export const priceAmountsOf = (p: Price) => ({
  input_per_million: microsToUsd(p.inputPerMillion),
  output_per_million: microsToUsd(p.outputPerMillion),
  cached_input_per_million: usdOrNull(p.cachedInputPerMillion),
  per_request: usdOrNull(p.perRequest),
  cache_write_per_million: usdOrNull(p.cacheWritePerMillion),
  cache_write_1h_per_million: usdOrNull(p.cacheWrite1hPerMillion),
  audio_input_per_million: usdOrNull(p.audioInputPerMillion),
  audio_output_per_million: usdOrNull(p.audioOutputPerMillion),
  image_output_per_million: usdOrNull(p.imageOutputPerMillion),
  server_tools: mapValues(p.serverTools, microsToUsd),
  service_tiers: mapValues(p.tierMultipliers, (m) => m / 1000),
  long_context_above_tokens: p.longContextAboveTokens ?? null,
  media_part_tokens: p.mediaPartTokens ?? null,
  context_window_tokens: p.contextWindowTokens ?? null,
  template_overhead_tokens: p.templateOverheadTokens ?? null,
})
