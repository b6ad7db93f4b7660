import { MAX_REQUEST_MICROS } from '../budget/money'
import { heldImageModelTokens, imageModelInputCost, type ImageModelInput, type ImageModelTokens } from './image-model-input'

/**
 * A price row in force: rates in integer micro-USD per million tokens, per-request and per-use prices in
 * micro-USD, tier multipliers in thousandths. The rates beyond input and output are optional: unset, a
 * token kind is billed by the rule `ratesOf` states, and a feature that needs a price of its own (a server
 * tool, a service tier, audio) is refused at admission while pricing is required.
 */
export interface Price {
  id: number
  model: string
  inputPerMillion: number
  outputPerMillion: number
  cachedInputPerMillion: number | null
  perRequest: number | null
  /** When the row takes (or took) effect. */
  createdAt: number
  source?: string | null
  /** Writes to the provider's prompt cache with its default (5-minute) lifetime. */
  cacheWritePerMillion?: number | null
  /** Writes to the 1-hour prompt cache. */
  cacheWrite1hPerMillion?: number | null
  audioInputPerMillion?: number | null
  audioOutputPerMillion?: number | null
  /** Image output tokens (OpenRouter's image models through chat `modalities`: Gemini's $30/M beside $2.50/M of text). */
  imageOutputPerMillion?: number | null
  /** Micro-USD per use of a server tool, by tool name (`web_search`). */
  serverTools?: Readonly<Record<string, number>>
  /**
   * Multiplier of every token rate, in thousandths (1750 = ×1.75), by service tier (`priority`, `flex`,
   * `fast`); `long_context` and `inference_geo_<geography>` (`inference_geo_us`) apply on top of those, and
   * `long_context_output`, when set, instead of `long_context` on output tokens (Anthropic: 2× input, 1.5× output).
   */
  tierMultipliers?: Readonly<Record<string, number>>
  /**
   * Where this model's long-context rates start, in prompt tokens: past it every request is billed at them,
   * with no request flag (OpenAI's GPT-5.4, past 272K). Unset: Anthropic's rule, `RequestedFeatures.longContext`.
   */
  longContextAboveTokens?: number | null
  /**
   * The most input tokens one media part (an image at any detail, an audio clip) bills on this model, where
   * that is more than the configured bound (gpt-4o-mini: ~48,000 for an image at high detail). With hard
   * bounds the estimate holds each media part at it (src/budget/estimate-options.ts). Unset: the configured bound.
   */
  mediaPartTokens?: number | null
  /**
   * This model's context window, in input tokens (gpt-4.1: 1,047,576). A file by reference that is not a PDF (a
   * text file by id) is bounded by nothing else: with hard bounds the estimate holds one at it when it is larger
   * than the PDF bound (src/budget/estimate-options.ts). Unset: the PDF bound, or Anthropic's 1M window when sent.
   */
  contextWindowTokens?: number | null
  /**
   * The input this model's chat template writes on its own, in tokens (a default system prompt, a date header):
   * with hard bounds, a request to a provider that renders the template holds it once (src/budget/estimate-options.ts).
   * Unset: the configured allowance.
   */
  templateOverheadTokens?: number | null
}

export interface TokenCounts {
  promptTokens: number
  completionTokens: number
  /** Part of promptTokens that the provider served from its cache. */
  cachedTokens: number
  /** Part of promptTokens written to the provider's cache (every lifetime): at least the split's two parts together. */
  cacheWriteTokens?: number
  /**
   * Of the cache writes, those the provider says were for five minutes and for one hour; undefined when it did not
   * split them. Writes the split does not cover (a part left out, a stream's total grown past its first event's
   * split) are billed at the longest lifetime the request asked for.
   */
  cacheWrite5mTokens?: number
  cacheWrite1hTokens?: number
  /** Part of promptTokens that was audio. */
  audioInputTokens?: number
  /** Part of completionTokens that was audio. */
  audioOutputTokens?: number
  /** Part of completionTokens that was images (OpenRouter's `completion_tokens_details.image_tokens`). */
  imageOutputTokens?: number
  /** Part of completionTokens the provider says was reasoning: billed as output, and told to a translated client. */
  reasoningTokens?: number
  /** Uses of each server tool as the provider reports them (a tool it does not name was not used); undefined when it does not count them. */
  serverToolUses?: Record<string, number>
  /**
   * The usage counts only the server tools it names (a chat usage: xAI's `num_sources_used` counts Live Search's
   * sources, not searches): a tool the request offered that it does not name is billed at the uses held, as when
   * it counts none.
   */
  countsOnlyToolsNamed?: boolean
  /** The service tier the provider says it served the request at. */
  tier?: string
  /** Where the provider says inference ran (Anthropic's `usage.inference_geo`: `global`, `us`). */
  inferenceGeo?: string
  /** What the `image_generation` tool's image model read, as the answer reports it apart from the usage (`tool_usage.image_gen`). */
  imageModelTokens?: ImageModelTokens
}

/** What a request asked for beyond plain tokens: the fallbacks of settlement, and what its hold covers. */
export interface RequestedFeatures {
  /** Server tools by name, each with the most uses the request allows. */
  serverTools: Record<string, number>
  /**
   * Of those, uses the router in front of the model bills itself, which no usage counts (OpenRouter's web
   * plugin, per result): settled as held, on top of what the usage reports.
   */
  unreportedToolUses?: Record<string, number>
  /**
   * Of those, uses held that are billed only as a usage counts them: chat's `web_search_options` is one search a
   * request where OpenAI serves it (billed so, never counted), but a router in front of Claude runs up to the
   * searches its `search_context_size` allows, and counts them. A usage that counts none is billed the rest; a
   * stream cut before its usage, all of them (`everyUseAllowed`).
   */
  usesBilledOnlyIfCounted?: Record<string, number>
  /** The service tier asked for; null for the standard one. */
  tier: string | null
  audioInput: boolean
  audioOutput: boolean
  /** `image` among the output modalities asked for (chat's `modalities`): the answer may be images, billed at their own rate. */
  imageOutput: boolean
  /** The longest cache lifetime the request writes with, or null when it marks nothing for caching. */
  cacheWrites: '5m' | '1h' | null
  /**
   * The request switched on a long context window (Anthropic's `context-1m-*` beta): a prompt of more than
   * LONG_CONTEXT_TOKENS is billed at the `long_context` tier's multiplier (its output at `long_context_output`'s,
   * when set), on top of any other tier's. A row with a threshold of its own does not need it (`inLongContext`).
   */
  longContext: boolean
  /**
   * Input that tools billed by their tokens alone bring back (remote MCP listings and call results, fetched
   * pages): `uses` held at the per-use input allowance each, and `tokens` the request bounds itself.
   */
  toolResultInput: { readonly uses: number; readonly tokens: number }
  /** Server-side compaction: a pass that reads the context again and writes a summary, besides the answer's. */
  compaction: boolean
  /**
   * The most uses of the server tools that run in the provider's own loop (Anthropic's web search, web fetch, code
   * execution, tool search): after each, the model is sampled again over the whole context, and the usage's input
   * counts every pass. Each use is one more pass over the input.
   */
  toolLoopUses: number
  /**
   * Of the input the tools bring back, what the loop's uses bring (a later pass reads the results of the uses
   * before it, and only those): `uses` at the per-use input allowance each, `tokens` the request bounds itself
   * (a web fetch's `max_content_tokens` per use), `largestUse` the largest of those bounds for one use.
   */
  toolLoopResults: { readonly uses: number; readonly tokens: number; readonly largestUse: number }
  /**
   * The inference geography asked for (Anthropic's `inference_geo`, `us`: US-only inference); null for
   * the default (`global`) or none. Billed at the `inference_geo_<geography>` multiplier, on top of any
   * other tier's and the long context's.
   */
  inferenceGeo: string | null
  /**
   * What the request leaves to the provider's own default, which may be billed above the plain rates: the
   * service tier (no `service_tier`, or `auto`: an OpenAI project may default to `priority`), the
   * geography (no `inference_geo`: an Anthropic workspace may default to `us`), and cache writes the
   * provider makes without a `cache_control` marker (OpenAI caches every prompt by itself, and bills the
   * writes of GPT-5.6 and later at 1.25× input), and the kind of media the request does not name as audio but the
   * provider may bill as audio input (a video's sound track, a recording by file id: `partMayBeAudio`).
   */
  providerDefaults: { readonly tier: boolean; readonly geo: boolean; readonly cacheWrites: boolean; readonly audioInput: boolean }
  /** The Responses `image_generation` tool offered: what its image model may read, billed at its own rates (src/pricing/image-model-input.ts). */
  imageModelInput?: ImageModelInput
}

/** Where long-context pricing starts: Anthropic bills a prompt past 200K tokens at its long-context rates. */
const LONG_CONTEXT_TOKENS = 200_000

/** The prompt size past which the row's long-context rates apply: its own threshold, else Anthropic's. */
export const longContextThreshold = (price: Price): number => price.longContextAboveTokens ?? LONG_CONTEXT_TOKENS

/**
 * Whether a prompt of `promptTokens` is billed at the row's long-context rates: past the row's own threshold,
 * whatever the request says (OpenAI bills GPT-5.4's whole request so past 272K, with no flag to opt in);
 * without one, only when the request switched the long context window on (Anthropic's context-1m), past 200K.
 */
function inLongContext(price: Price, requested: RequestedFeatures, promptTokens: number): boolean {
  if (promptTokens <= longContextThreshold(price)) return false
  return price.longContextAboveTokens != null || requested.longContext
}

/** What one request pays: the price in force, and what the request asked for beyond plain tokens. */
export interface Tariff {
  price: Price | null
  features: RequestedFeatures
  /**
   * With cap-output on, the output tokens the hold covers (`heldOutputTokens`), which the provider was sent as
   * its max: no usage is charged more output than that. Unset with cap-output off, where a usage is charged whole.
   */
  outputBound?: number
  /**
   * With cap-output on, and a request whose input the estimate bounds (`TokenEstimate.boundsInput`), the prompt
   * tokens the hold covers, every pass (`heldPromptTokens`), its tools' results at the allowance held for them
   * included: no usage is charged more input than that, whatever its tools brought.
   */
  inputBound?: number
}

export const NO_FEATURES: RequestedFeatures = {
  serverTools: {}, tier: null, audioInput: false, audioOutput: false, imageOutput: false, cacheWrites: null, longContext: false,
  toolResultInput: { uses: 0, tokens: 0 }, compaction: false, toolLoopUses: 0,
  toolLoopResults: { uses: 0, tokens: 0, largestUse: 0 }, inferenceGeo: null, providerDefaults: { tier: false, geo: false, cacheWrites: false, audioInput: false },
}

/** Tiers billed at the plain rates, as the providers name them in requests and answers. */
const STANDARD_TIERS = new Set(['auto', 'default', 'standard', 'standard_only'])
export const isStandardTier = (tier: string | null | undefined): boolean => tier == null || STANDARD_TIERS.has(tier)
const PLAIN = 1000

/**
 * The rate of each token kind, micro-USD per million. Unset rates: cached input at the input rate; audio
 * and images at the text rates (a request asking for them is refused while pricing is required); cache writes by Anthropic's published multipliers, 1.25× input for the 5-minute cache
 * (rounded up to the micro-USD) and 2× input for the 1-hour cache (or the 5-minute rate, when a row sets that dearer).
 */
function ratesOf(price: Price) {
  const input = price.inputPerMillion
  return {
    input,
    cached: price.cachedInputPerMillion ?? input,
    cacheWrite: price.cacheWritePerMillion ?? Math.ceil((input * 5) / 4),
    cacheWrite1h: price.cacheWrite1hPerMillion ?? Math.max(input * 2, price.cacheWritePerMillion ?? 0),
    audioInput: price.audioInputPerMillion ?? input,
    output: price.outputPerMillion,
    audioOutput: price.audioOutputPerMillion ?? price.outputPerMillion,
    imageOutput: price.imageOutputPerMillion ?? price.outputPerMillion,
  }
}

/**
 * The tier multiplier (thousandths) a request is billed at: the tier the provider reports, else the one the
 * request asked for; a tier the price book has no multiplier for counts as the requested one, then plain.
 */
function multiplierOf(price: Price, reported: string | undefined, requested: string | null): number {
  if (reported !== undefined) {
    if (isStandardTier(reported)) return PLAIN
    const own = namedMultiplier(price, reported)
    if (own !== undefined) return own
  }
  return (requested !== null ? namedMultiplier(price, requested) : undefined) ?? PLAIN
}

/**
 * Geographies billed at the plain rates, as Anthropic names them in requests and usage: `global` (its
 * default: inference anywhere) and `not_available` (no geography recorded).
 */
const DEFAULT_GEOS = new Set(['global', 'not_available'])
export const isDefaultGeo = (geo: string | null | undefined): boolean => geo == null || DEFAULT_GEOS.has(geo)
/** The price book's name for a geography's multiplier, among the `service_tiers`: `inference_geo_us`. */
export const geoMultiplierName = (geo: string): string => `inference_geo_${geo}`

/**
 * A server tool's price per use, from the row's own entries only: a name a client or a provider chose
 * (`constructor`) must never read an inherited property.
 */
export function toolPrice(price: Price, tool: string): number | undefined {
  const prices = price.serverTools
  return prices !== undefined && Object.hasOwn(prices, tool) ? prices[tool] : undefined
}

/** A multiplier the price row sets under that name (its own entry only: never an inherited property). */
export function namedMultiplier(price: Price, name: string): number | undefined {
  const m = price.tierMultipliers
  return m !== undefined && Object.hasOwn(m, name) ? m[name] : undefined
}

/**
 * The geography multiplier (thousandths) a request is billed at, by the tier rule: the geography the usage
 * reports, else the one the request asked for; a reported one the price book has no multiplier for counts
 * as the requested one, then plain.
 */
function geoMultiplierOf(price: Price, reported: string | undefined, requested: string | null): number {
  if (reported !== undefined) {
    if (isDefaultGeo(reported)) return PLAIN
    const own = namedMultiplier(price, geoMultiplierName(reported))
    if (own !== undefined) return own
  }
  return requested === null || isDefaultGeo(requested) ? PLAIN : (namedMultiplier(price, geoMultiplierName(requested)) ?? PLAIN)
}

/** `multiplier` with `other` on top (both in thousandths), rounded up. */
const compound = (multiplier: number, other: number): number => (other === PLAIN ? multiplier : Math.ceil((multiplier * other) / PLAIN))

/**
 * The multipliers of input and of output tokens: `multiplier`, with the long-context one on top when the
 * prompt is billed at the long-context rates (`inLongContext`). Those are not one multiplier (Anthropic: 2×
 * input and cache, 1.5× output; OpenAI the same): `long_context_output`, when the row sets it, is output's.
 */
function withLongContext(price: Price, multiplier: number, requested: RequestedFeatures, promptTokens: number): { input: number; output: number } {
  if (!inLongContext(price, requested, promptTokens)) return { input: multiplier, output: multiplier }
  const input = namedMultiplier(price, 'long_context') ?? PLAIN
  const output = namedMultiplier(price, 'long_context_output') ?? input
  return { input: compound(multiplier, Math.max(PLAIN, input)), output: compound(multiplier, Math.max(PLAIN, output)) }
}

const MILLION = 1_000_000n

/**
 * Σ tokens × rate (micro-USD per million) × multiplier (thousandths), in micro-USD rounded up, plus fees.
 * Tokens × rate × multiplier can pass 2^53 for long contexts at dear rates: below that the arithmetic is
 * exact in doubles, past it it is done in BigInt. A count past every double (a `max_uses` of 1e308 times the
 * per-use input allowance is Infinity) costs the most a request may, as any count too large to pay does.
 */
function charge(terms: ReadonlyArray<readonly [tokens: number, rate: number, multiplier: number]>, fees: number): number {
  const priced = terms.filter(([tokens, rate, multiplier]) => tokens !== 0 && rate !== 0 && multiplier !== 0)
  let total = 0
  for (const [tokens, rate, multiplier] of priced) total += tokens * rate * multiplier
  // Every term is a non-negative integer, so a sum within the safe range means every term was exact.
  if (total <= Number.MAX_SAFE_INTEGER) {
    const whole = Math.floor(total / 1_000_000_000)
    const cost = whole + (total - whole * 1_000_000_000 > 0 ? 1 : 0) + fees
    return Math.min(cost, MAX_REQUEST_MICROS)
  }
  if (!Number.isFinite(total)) return MAX_REQUEST_MICROS
  let big = 0n
  for (const [tokens, rate, multiplier] of priced) big += BigInt(tokens) * BigInt(rate) * BigInt(multiplier)
  const cost = (big + MILLION * 1000n - 1n) / (MILLION * 1000n) + BigInt(fees)
  return cost > BigInt(MAX_REQUEST_MICROS) ? MAX_REQUEST_MICROS : Number(cost)
}

// Only a count that is a number: anything else a provider sent (or a name's inherited property) is none.
const count = (n: number | undefined) => (typeof n === 'number' && n > 0 ? n : 0)

/**
 * Cost in micro-USD, rounded up to the next micro-USD: every token kind at its rate, times the service
 * tier's multiplier and the inference geography's on top, plus each server tool's uses at its per-use
 * price and the per-request price. What the usage does not say is taken from the request: the uses of a
 * tool it asked for (at most its max_uses), the tier and the geography it asked for, and for cache writes
 * whose lifetime the usage's split does not cover, the longest lifetime it asked for.
 *
 * `heldAt`, the features a hard bound was held at (cap-output on), bounds the rates: a tier or geography the
 * usage reports dearer than the one held is billed at the held one, and audio or image tokens the hold did not price
 * as such at the text rates; the hold is then a bound on the rates as on the output (src/metering/outcome.ts).
 */
export function costOf(price: Price | null, tokens: TokenCounts, requested: RequestedFeatures = NO_FEATURES, heldAt?: RequestedFeatures): number {
  if (!price) return 0
  const r = ratesOf(price)
  const prompt = tokens.promptTokens
  // Without a cached rate there is no discount: a cached token is billed as any other, audio at the audio rate.
  const cached = price.cachedInputPerMillion == null ? 0 : Math.min(tokens.cachedTokens, prompt)
  const split5m = count(tokens.cacheWrite5mTokens)
  const split1h = count(tokens.cacheWrite1hTokens)
  const writes = Math.min(Math.max(count(tokens.cacheWriteTokens), split5m + split1h), prompt - cached)
  const unsplit = Math.max(0, writes - split5m - split1h)
  const writes1h = Math.min(split1h + (requested.cacheWrites === '1h' ? unsplit : 0), writes)
  const audioIn = heldAt && !heldAt.audioInput ? 0 : Math.min(count(tokens.audioInputTokens), prompt - cached - writes)
  const audioOut = heldAt && !heldAt.audioOutput ? 0 : Math.min(count(tokens.audioOutputTokens), tokens.completionTokens)
  const imageOut = heldAt && !heldAt.imageOutput ? 0 : Math.min(count(tokens.imageOutputTokens), tokens.completionTokens - audioOut)
  let tierMultiplier = multiplierOf(price, tokens.tier, requested.tier)
  let geoMultiplier = geoMultiplierOf(price, tokens.inferenceGeo, requested.inferenceGeo)
  if (heldAt) {
    tierMultiplier = Math.min(tierMultiplier, heldTierMultiplier(price, heldAt))
    geoMultiplier = Math.min(geoMultiplier, heldGeoMultiplier(price, heldAt))
  }
  const tier = compound(tierMultiplier, geoMultiplier)
  const m = withLongContext(price, tier, requested, prompt)
  const terms = [
    [prompt - cached - writes - audioIn, r.input, m.input],
    [cached, r.cached, m.input],
    [writes - writes1h, r.cacheWrite, m.input],
    [writes1h, r.cacheWrite1h, m.input],
    [audioIn, r.audioInput, m.input],
    [tokens.completionTokens - audioOut - imageOut, r.output, m.output],
    [audioOut, r.audioOutput, m.output],
    [imageOut, r.imageOutput, m.output],
  ] as const
  const fees = toolFees(price, usesCounted(tokens, requested), requested, usesBilledUncounted(requested)) + imageModelCharge(price, tokens, requested)
  return charge(terms, fees + (price.perRequest ?? 0))
}

/**
 * What the image model read, at the row's rates: as `tool_usage.image_gen` reports it (with a hard bound, kept within
 * the hold by settlement: src/metering/outcome.ts); reported none, what a hold of these tokens covers for it, if an
 * image was generated (or the usage counts no calls).
 */
function imageModelCharge(price: Price, tokens: TokenCounts, requested: RequestedFeatures): number {
  const reported = tokens.imageModelTokens
  const offered = requested.imageModelInput
  if (reported) return imageModelInputCost(price, reported)
  if (!offered || (tokens.serverToolUses?.image_generation ?? offered.calls) === 0) return 0
  return imageModelInputCost(price, heldImageModelTokens(offered, tokens.promptTokens, tokens.completionTokens))
}

/** The uses a usage counts: those it reports, and for one that counts only the tools it names, the others as held. */
function usesCounted({ serverToolUses: reported, countsOnlyToolsNamed }: TokenCounts, requested: RequestedFeatures): Record<string, number> | undefined {
  return reported && countsOnlyToolsNamed ? { ...usesBilledUncounted(requested), ...reported } : reported
}

/** The uses a request is billed when its usage counts none: each tool's max_uses, less those billed only as counted. */
function usesBilledUncounted(requested: RequestedFeatures): Record<string, number> {
  const onlyIfCounted = requested.usesBilledOnlyIfCounted
  if (onlyIfCounted === undefined) return requested.serverTools
  const uses = { ...requested.serverTools }
  for (const [tool, n] of Object.entries(onlyIfCounted)) if (Object.hasOwn(uses, tool)) uses[tool] = Math.max(0, uses[tool]! - count(n))
  return uses
}

/**
 * The features a stream cut before its usage is billed at: every use allowed, whole, where the meter saw none
 * begun. The uses billed only as a usage counts them are for an answer whose provider could count and did not;
 * a cut stream's provider never got to report, and a chat stream's searches do not show.
 */
export function everyUseAllowed(requested: RequestedFeatures): RequestedFeatures {
  if (requested.usesBilledOnlyIfCounted === undefined) return requested
  const { usesBilledOnlyIfCounted: _, ...rest } = requested
  return rest
}

/**
 * Each tool's uses at its price: the counts the provider reports (a tool it does not name was not used),
 * or when it reports none at all, `uncounted` (the hold's: each requested tool at its max_uses); and the uses no
 * usage counts, as held, with whatever the usage reports of the same tool, up to the uses held for it: a router's
 * web plugin may run the model's native search, which the usage then counts as well (the same searches, billed once).
 */
function toolFees(price: Price, reported: Record<string, number> | undefined, requested: RequestedFeatures, uncounted = requested.serverTools): number {
  let fees = 0
  const unreported = reported === undefined ? undefined : requested.unreportedToolUses
  for (const [tool, uses] of Object.entries(reported ?? uncounted))
    if (unreported?.[tool] === undefined) fees += count(uses) * (toolPrice(price, tool) ?? 0)
  if (unreported !== undefined)
    for (const [tool, uses] of Object.entries(unreported)) {
      const held = requested.serverTools[tool] ?? count(uses)
      fees += Math.min(count(uses) + count(reported![tool]), held) * (toolPrice(price, tool) ?? 0)
    }
  return Math.min(fees, MAX_REQUEST_MICROS)
}

/**
 * The worst case: every input token at the dearest input rate the request can incur, every allowed
 * output token at the dearest output rate, at the dearer of the plain rates and the requested tier's
 * (and on top, of the plain rates and the requested geography's);
 * each server tool at its max_uses, each use adding its price and `toolUseInputTokens` of input; the
 * results of token-only tools at their bound; with compaction, its pass over all that input and a summary
 * as long as the output allowed.
 */
export function worstCaseCost(
  price: Price | null,
  inputTokens: number,
  outputTokens: number,
  requested: RequestedFeatures = NO_FEATURES,
  toolUseInputTokens = 0,
): number {
  if (!price) return 0
  const input = heldPromptTokens(inputTokens, requested, toolUseInputTokens, outputTokens)
  return costOfHeldTokens(price, input, heldOutputTokens(outputTokens, requested), requested, heldTierMultiplier(price, requested))
}

/** Tokens as a hold prices them (`worstCaseCost`), at a tier multiplier: the held tier's, or one a provider stated. */
function costOfHeldTokens(price: Price, promptTokens: number, completionTokens: number, held: RequestedFeatures, tierMultiplier: number): number {
  const r = ratesOf(price)
  const inputRate = r[dearestInputKind(price, held)]
  const outputRate = Math.max(r.output, held.audioOutput ? r.audioOutput : 0, held.imageOutput ? r.imageOutput : 0)
  const m = withLongContext(price, compound(tierMultiplier, heldGeoMultiplier(price, held)), held, promptTokens)
  const imageModel = held.imageModelInput ? imageModelInputCost(price, heldImageModelTokens(held.imageModelInput, promptTokens, completionTokens)) : 0
  const fees = toolFees(price, undefined, held) + imageModel + (price.perRequest ?? 0)
  return charge([[promptTokens, inputRate, m.input], [completionTokens, outputRate, m.output]], fees)
}

/** The tier multiplier a hold prices: the dearer of the plain rates and the tier held. */
const heldTierMultiplier = (price: Price, held: RequestedFeatures): number => Math.max(PLAIN, multiplierOf(price, undefined, held.tier))
/** The geography multiplier a hold prices: the dearer of the plain rates and the geography held. */
const heldGeoMultiplier = (price: Price, held: RequestedFeatures): number => Math.max(PLAIN, geoMultiplierOf(price, undefined, held.inferenceGeo))

/**
 * What a hold's own tokens cost at the tier a provider stated without a usage (OpenAI stamps every chat chunk with
 * the tier serving it): the hold's worst case with the stated tier's multiplier for the held one, by the tier rule
 * (`multiplierOf`); null where that is the multiplier held, and the hold's amount is the charge.
 */
export function heldTokensAtTier(price: Price, tokens: { promptTokens: number; completionTokens: number }, held: RequestedFeatures, stated: string): number | null {
  const multiplier = multiplierOf(price, stated, held.tier)
  if (multiplier === heldTierMultiplier(price, held)) return null
  return costOfHeldTokens(price, tokens.promptTokens, tokens.completionTokens, held, multiplier)
}

type InputKind = 'input' | 'cached' | 'audioInput' | 'cacheWrite' | 'cacheWrite1h'

/**
 * The kind of input token whose rate is the dearest the request can incur (`ratesOf`): plain or cached input, and
 * audio input when it sends audio, a cache write (of its longest lifetime too) when it writes to the cache. The
 * hold prices every input token at it (`worstCaseCost`); a tie goes to the plain rate.
 */
function dearestInputKind(price: Price, requested: RequestedFeatures): InputKind {
  const r = ratesOf(price)
  const kinds: InputKind[] = ['input', 'cached']
  if (requested.audioInput) kinds.push('audioInput')
  if (requested.cacheWrites) kinds.push('cacheWrite')
  if (requested.cacheWrites === '1h') kinds.push('cacheWrite1h')
  return kinds.reduce((dearest, kind) => (r[kind] > r[dearest] ? kind : dearest))
}

/**
 * The input estimate as the hold prices it, as the counts `costOf` bills (beside `promptTokens: inputTokens`):
 * every token of the dearest kind (`dearestInputKind`), so that with the features it was held at (`featuresHeld`:
 * tier and geography) it costs what the hold's input term does. A stream cut before its usage pays its estimate
 * so (src/metering/outcome.ts): the provider read the whole prompt, at whichever of those rates applied.
 */
export function estimateAsHeld(price: Price, inputTokens: number, held: RequestedFeatures): Pick<TokenCounts, 'cachedTokens' | 'cacheWriteTokens' | 'cacheWrite5mTokens' | 'cacheWrite1hTokens' | 'audioInputTokens'> {
  switch (dearestInputKind(price, held)) {
    case 'input':
      return { cachedTokens: 0 }
    case 'cached':
      return { cachedTokens: inputTokens }
    case 'audioInput':
      return { cachedTokens: 0, audioInputTokens: inputTokens }
    case 'cacheWrite':
      return { cachedTokens: 0, cacheWriteTokens: inputTokens, cacheWrite5mTokens: inputTokens, cacheWrite1hTokens: 0 }
    case 'cacheWrite1h':
      return { cachedTokens: 0, cacheWriteTokens: inputTokens, cacheWrite5mTokens: 0, cacheWrite1hTokens: inputTokens }
  }
}

/**
 * A cut stream's delivered output as the hold priced it, beside `completionTokens`: where images were asked for and
 * their rate is the dearer, every token an image token. Its bytes do not say which were images (a generated image
 * streams as base64 text), and the provider bills each of them at the image rate.
 */
export function outputAsHeld(price: Price, completionTokens: number, held: RequestedFeatures): Pick<TokenCounts, 'imageOutputTokens'> {
  const r = ratesOf(price)
  return held.imageOutput && r.imageOutput > r.output ? { imageOutputTokens: completionTokens } : {}
}

/** The output a request is held for, every pass of it (a compaction writes a summary as long as the answer allowed). */
export const heldOutputTokens = (outputTokens: number, requested: RequestedFeatures): number => (requested.compaction ? 2 : 1) * outputTokens

/** Multipliers that are not a service tier a provider may apply by default (fast mode is only ever asked for). */
const NOT_A_DEFAULT_TIER = (name: string) => name === 'long_context' || name === 'long_context_output' || name === 'fast' || name.startsWith('inference_geo_')

/**
 * The features a hard bound must be held at (cap-output on): a tier or a geography the request leaves to
 * the provider is held at the dearest one the row prices, since the provider's default is billed at its
 * multiplier and the hold must cover whatever the provider applies. Cache writes the provider may make by
 * itself are held as a 5-minute write, at the row's rate or, unset, the fallback (1.25× input) that settlement
 * bills reported writes at: a row without a write rate may be a model that bills them (GPT-5.6 and later) as
 * well as one that does not, which only reports none. Media that may be audio is held at the audio input rate
 * when that is the dearer: settlement bills every audio token the usage reports at it.
 */
export function heldAtProviderDefaults(price: Price, f: RequestedFeatures): RequestedFeatures {
  const named = Object.entries(price.tierMultipliers ?? {})
  const dearest = (names: Array<[string, number]>) => names.reduce<[string, number] | null>((best, e) => (e[1] > PLAIN && e[1] > (best?.[1] ?? 0) ? e : best), null)?.[0]
  const tier = f.providerDefaults.tier && f.tier === null ? dearest(named.filter(([name]) => !NOT_A_DEFAULT_TIER(name))) : undefined
  const geo = f.providerDefaults.geo && f.inferenceGeo === null ? dearest(named.filter(([name]) => name.startsWith('inference_geo_'))) : undefined
  const writes = f.providerDefaults.cacheWrites && f.cacheWrites === null
  const audio = f.providerDefaults.audioInput && !f.audioInput
  if (tier === undefined && geo === undefined && !writes && !audio) return f
  return {
    ...f,
    tier: tier ?? f.tier,
    inferenceGeo: geo?.slice('inference_geo_'.length) ?? f.inferenceGeo,
    cacheWrites: writes ? '5m' : f.cacheWrites,
    audioInput: f.audioInput || audio,
  }
}

/** The features a request is held at: with a hard bound (cap-output on), its provider's defaults at their dearest. */
export const featuresHeld = (price: Price | null, requested: RequestedFeatures, hardBound: boolean): RequestedFeatures =>
  price && hardBound ? heldAtProviderDefaults(price, requested) : requested

/**
 * The input a request is held for, every pass of it: what its price is judged by (the long context's threshold,
 * which the usage's input, all passes summed, is judged by too), for the hold and for require-pricing alike. A
 * compaction runs the prompt twice. A server tool loop of n uses samples the model n more times, each over the
 * prompt, the results of the uses before it and what the model wrote before them (the turn so far, at most
 * `outputTokens` in all): (1 + n)·prompt + the results read again + n·output.
 */
export function heldPromptTokens(inputTokens: number, requested: RequestedFeatures, toolUseInputTokens: number, outputTokens: number): number {
  const passes = requested.compaction ? 2 : 1
  const n = requested.toolLoopUses
  if (n === 0) return passes * heldInputTokens(inputTokens, requested, toolUseInputTokens)
  const loop = requested.toolLoopResults
  const loopResults = loop.uses * toolUseInputTokens + loop.tokens
  const largestUse = Math.max(loop.uses > 0 ? toolUseInputTokens : 0, loop.largestUse)
  // Read from the first pass on: the prompt, and any results the loop does not bring (a router's web results).
  const everyPass = heldInputTokens(inputTokens, requested, toolUseInputTokens, loop)
  const held = passes * ((1 + n) * everyPass + loopResultsRead(loopResults, largestUse, n) + n * outputTokens)
  // Bounds past every double (two tools at `max_uses: 1e308`) subtract Infinity from Infinity: too large to hold.
  return Number.isNaN(held) ? Infinity : held
}

/**
 * The loop's results as its n later passes read them, at most: pass k reads those of the k uses before it, at most
 * `largestUse` each and `total` in all, so Σ min(total, k·largestUse) (R·n(n+1)/2 for n uses at the allowance R).
 */
function loopResultsRead(total: number, largestUse: number, n: number): number {
  if (total === 0) return 0
  const growing = Math.min(n, Math.floor(total / largestUse))
  const full = n - growing
  return (largestUse * growing * (growing + 1)) / 2 + (full > 0 ? full * total : 0)
}

/**
 * The input one pass of a request can bring to the model at most: its own estimate, and what its tools
 * bring back (each use at the per-use allowance, and the bounds the request set itself), `except` some of those.
 */
export function heldInputTokens(
  inputTokens: number,
  requested: RequestedFeatures,
  toolUseInputTokens: number,
  except: { readonly uses: number; readonly tokens: number } = { uses: 0, tokens: 0 },
): number {
  let uses = requested.toolResultInput.uses - except.uses
  for (const maxUses of Object.values(requested.serverTools)) uses += maxUses
  return inputTokens + uses * toolUseInputTokens + requested.toolResultInput.tokens - except.tokens
}

/**
 * The most output tokens, at most `maxOutputTokens`, whose worst case with this input (and these billed
 * features) costs no more than `amount` micro-USD: the output clamp's inverse of `worstCaseCost`, found by
 * bisection on it (the cost only grows with output), so that it can never disagree with the hold; 0 when
 * not even the input fits.
 */
export function outputTokensWithin(
  price: Price,
  inputTokens: number,
  maxOutputTokens: number,
  amount: number,
  requested: RequestedFeatures = NO_FEATURES,
  toolUseInputTokens = 0,
): number {
  const cost = (output: number) => worstCaseCost(price, inputTokens, output, requested, toolUseInputTokens)
  if (cost(maxOutputTokens) <= amount) return maxOutputTokens
  if (cost(0) > amount) return 0
  let fits = 0
  let tooMany = maxOutputTokens
  while (tooMany - fits > 1) {
    const mid = Math.floor((fits + tooMany) / 2)
    if (cost(mid) <= amount) fits = mid
    else tooMany = mid
  }
  return fits
}
