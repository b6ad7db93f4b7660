/**
 * Prices from a maintained catalog: `@pydantic/genai-prices` (MIT), which ships its data in the package
 * (no network at run time), with price history (dated changes), tiers and cache rates for the providers
 * teams use. This maps one catalog model to the rows tollgate's price book would hold for it.
 */
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { calcPrice, type ConditionalPrice, type ModelPrice, type TieredPrices } from '@pydantic/genai-prices'

const CATALOG_PACKAGE = '@pydantic/genai-prices'

/** `@pydantic/genai-prices@<version>`: what each row written from it cites. */
export function catalogSource(): string {
  const entry = Bun.resolveSync(CATALOG_PACKAGE, import.meta.dir)
  const { version } = JSON.parse(readFileSync(join(dirname(entry), '..', 'package.json'), 'utf8'))
  return `${CATALOG_PACKAGE}@${version}`
}

/** Price fields as the admin API takes them (USD per million tokens; per request and per use in USD). */
export interface PriceFields {
  input_per_million: number
  output_per_million: number
  cached_input_per_million?: number
  cache_write_per_million?: number
  cache_write_1h_per_million?: number
  audio_input_per_million?: number
  audio_output_per_million?: number
  image_output_per_million?: number
  per_request?: number
  server_tools?: Record<string, number>
  /** `long_context` and `long_context_output`, for a model tiered by prompt size at one threshold. */
  service_tiers?: Record<string, number>
  long_context_above_tokens?: number
}

export interface CatalogRow {
  /** ISO date the row applies from; null for the price in force now. */
  effectiveFrom: string | null
  /**
   * The catalog lists no rate tollgate bills a request by (a token rate or a per-request price, above 0) then,
   * so it is never read as a price of 0. None at all (`prices: {}`): so it lists OpenRouter's `:free` models, but
   * also a model the provider no longer sells (Cerebras' qwen-3-coder-480b). Or only charges tollgate cannot bill
   * (`unbillable`: Whisper's hours of audio, Mistral OCR's pages) or does not bill a request by (web searches):
   * written, a row of 0/0 would serve the model at $0. `fields` is then 0/0, what the row holds only where the
   * operator says the model is free.
   */
  noPrice: boolean
  fields: PriceFields
  /**
   * Charges of the catalog's that tollgate cannot bill (per page, per hour of audio…), each with its price: a
   * row written without them would serve the model for less than the provider bills.
   */
  unbillable: string[]
}

interface CatalogEntry {
  /** The catalog's id of the model it matched. */
  catalogModel: string
  rows: CatalogRow[]
  /** How the catalog's prices were mapped: folded, rounded, long-context tier or dearest tier, left unpriced. */
  notes: string[]
  /** The catalog's own comment on the model's prices ("Free of charge on the Gemini API…"), if any. */
  comment: string | null
}

const TOKEN_FIELDS: Record<string, keyof PriceFields> = {
  input_mtok: 'input_per_million',
  output_mtok: 'output_per_million',
  cache_read_mtok: 'cached_input_per_million',
  cache_write_mtok: 'cache_write_per_million',
  cache_write_1h_mtok: 'cache_write_1h_per_million',
  input_audio_mtok: 'audio_input_per_million',
  output_audio_mtok: 'audio_output_per_million',
  output_image_mtok: 'image_output_per_million',
}

/**
 * Token kinds tollgate counts among others, since the usage it reads does not set them apart: each is billed
 * at the rate of the kind it is counted with, so where the catalog's rate is dearer that rate is raised to it
 * (a cheaper one changes nothing). Reasoning, image, video and citation tokens are output; cached image and
 * audio tokens are cached input; image and video tokens are input. Image output has a rate of its own as well
 * (`image_output_per_million`, which a request for it needs), but a usage that does not count its image tokens
 * apart bills them as output: so the output rate is still raised to it.
 */
const FOLDED: Record<string, 'input_per_million' | 'output_per_million' | 'cached_input_per_million'> = {
  output_reasoning_mtok: 'output_per_million',
  output_image_mtok: 'output_per_million',
  output_video_mtok: 'output_per_million',
  output_citation_mtok: 'output_per_million',
  input_image_mtok: 'input_per_million',
  input_video_mtok: 'input_per_million',
  cache_image_read_mtok: 'cached_input_per_million',
  cache_audio_read_mtok: 'cached_input_per_million',
}

/**
 * Features the gateway refuses while they have no price (SPEC §5): left unpriced, a request that uses one is
 * refused, never billed for less, so they do not stop the row from being written.
 */
const REFUSED_UNPRICED: Record<string, string> = {
  storage_searches_kcount: 'file search',
}

/**
 * The rows for `modelId` of catalog provider `providerId`: the price in force at `now`, then one row per
 * dated change after it. Null when the catalog does not know the model.
 */
export function catalogEntry(providerId: string, modelId: string, now = new Date()): CatalogEntry | null {
  const match = calcPrice({ input_tokens: 0 }, modelId, { providerId, timestamp: now })
  if (!match) return null
  const notes = new Set<string>()
  const entries: ConditionalPrice[] = Array.isArray(match.model.prices) ? match.model.prices : [{ prices: match.model.prices }]
  const today = now.toISOString().slice(0, 10)
  const changes = [...new Set(entries.flatMap((e) => (e.constraint?.type === 'start_date' && e.constraint.start_date > today ? [e.constraint.start_date] : [])))].sort()
  const rows = [{ effectiveFrom: null, at: today }, ...changes.map((d) => ({ effectiveFrom: d, at: d }))].map(({ effectiveFrom, at }) => {
    const { fields, unbillable } = toFields(pricesOn(entries, at), notes)
    return { effectiveFrom, noPrice: !billsRequests(fields), fields, unbillable }
  })
  return { catalogModel: match.model.id, rows, notes: [...notes], comment: match.model.price_comments ?? null }
}

/**
 * The prices that apply on a date: those of the latest dated change on or before it (or the undated ones),
 * with every time-of-day variant folded in at its dearest — tollgate prices a request before it knows when
 * the provider will bill it, so it takes the dearest applicable rate (SPEC §6).
 */
function pricesOn(entries: ConditionalPrice[], date: string): ModelPrice[] {
  const dated = entries.filter((e) => e.constraint?.type === 'start_date' && e.constraint.start_date <= date)
  const latest = dated.reduce<string | null>((d, e) => (e.constraint?.type === 'start_date' && (!d || e.constraint.start_date > d) ? e.constraint.start_date : d), null)
  const base = latest ? dated.filter((e) => e.constraint?.type === 'start_date' && e.constraint.start_date === latest) : entries.filter((e) => !e.constraint)
  return [...base, ...entries.filter((e) => e.constraint?.type === 'time_of_date')].map((e) => e.prices)
}

/**
 * The catalog's prices as price-book fields, and what of them tollgate cannot bill. Every priced key is
 * accounted for: mapped to its field, folded into the rate it is counted at, left to admission's refusal, or
 * named unbillable — a key this does not know (the catalog adds units) is unbillable until it is taught.
 */
function toFields(prices: ModelPrice[], notes: Set<string>): Pick<CatalogRow, 'fields' | 'unbillable'> {
  const fields: PriceFields = { input_per_million: 0, output_per_million: 0 }
  const tier = longContextTier(prices)
  const dearest = (key: string): number | undefined => {
    const values = prices.map((p) => p[key]).filter((v) => v !== undefined).map((v) => (tier && typeof v !== 'number' ? v!.base : dearestTier(v!, key, notes)))
    return values.length ? Math.max(...values) : undefined
  }
  if (tier) {
    fields.service_tiers = { long_context: tier.input, long_context_output: tier.output }
    fields.long_context_above_tokens = tier.above
    notes.add(`token rates are tiered by prompt size at one threshold: the base rates, with long_context ${tier.input} and long_context_output ${tier.output} past ${tier.above} input tokens`)
  }
  for (const [key, field] of Object.entries(TOKEN_FIELDS)) {
    const usd = dearest(key)
    if (usd !== undefined) (fields as any)[field] = wholeMicros(usd, key, notes)
  }
  for (const [key, field] of Object.entries(FOLDED)) {
    const usd = dearest(key)
    // Cached input with no rate of its own is billed at the input rate (ratesOf).
    const billedAt = field === 'cached_input_per_million' ? (fields.cached_input_per_million ?? fields.input_per_million) : fields[field]
    if (usd === undefined || usd <= billedAt) continue
    fields[field] = wholeMicros(usd, key, notes)
    notes.add(`${key} is dearer than ${field.replace('_per_million', '')}, which tollgate counts those tokens as: its rate is raised to ${fields[field]}`)
  }
  const requests = dearest('requests_kcount')
  if (requests !== undefined) fields.per_request = wholeMicros(requests / 1000, 'requests_kcount', notes)
  const searches = dearest('web_searches_kcount')
  if (searches !== undefined) fields.server_tools = { web_search: wholeMicros(searches / 1000, 'web_searches_kcount', notes) }
  for (const [key, feature] of Object.entries(REFUSED_UNPRICED))
    if (dearest(key)) notes.add(`${key} (${feature}) is not priced from the catalog: requests using it are refused while pricing is required`)

  const known = new Set([...Object.keys(TOKEN_FIELDS), ...Object.keys(FOLDED), ...Object.keys(REFUSED_UNPRICED), 'requests_kcount', 'web_searches_kcount'])
  const unbillable = [...new Set(prices.flatMap((p) => Object.keys(p)))].filter((key) => !known.has(key) && dearest(key)).map((key) => `${key}: ${dearest(key)}`)
  return { fields, unbillable }
}

/** Whether a row bills the requests it serves: by their tokens, or by the request (the rates admission counts). */
const billsRequests = (f: PriceFields): boolean =>
  [f.input_per_million, f.output_per_million, f.cached_input_per_million, f.cache_write_per_million, f.cache_write_1h_per_million,
    f.audio_input_per_million, f.audio_output_per_million, f.image_output_per_million, f.per_request].some((rate) => (rate ?? 0) > 0)

/** Token rates the long-context output multiplier applies to; every other token rate takes `long_context`. */
const OUTPUT_TOKEN_KEYS = new Set(['output_mtok', 'output_audio_mtok', 'output_image_mtok'])

/**
 * Token rates that step up once, at one prompt size, by one multiple on every input rate (cache reads and
 * writes, audio) and one on every output rate — OpenAI's GPT-5.4 and later (2× and 1.5× past 272K), Gemini 2.5
 * Pro (past 200K) — as tollgate prices them: the base rates, `long_context` and `long_context_output`, and the
 * tier's start as `long_context_above_tokens` (the catalog's tier applies past its start, as the threshold does).
 * Null for anything else (several tiers, a rate that does not step, time-of-day variants, a multiple finer than
 * a thousandth): then each rate is taken at its dearest tier. The multiple applies to every request past the
 * threshold, whatever its flags: Anthropic's 200K tiers are conditioned on its context-1m flag, but Anthropic
 * refuses a longer prompt without it, so every request it serves is billed as the flag rule would.
 */
function longContextTier(prices: ModelPrice[]): { above: number; input: number; output: number } | null {
  if (prices.length !== 1) return null
  const [price] = prices as [ModelPrice]
  if (Object.keys(FOLDED).some((key) => typeof price[key] === 'object')) return null
  const multiples = { input: new Set<number>(), output: new Set<number>() }
  const starts = new Set<number>()
  for (const key of Object.keys(TOKEN_FIELDS)) {
    const v = price[key]
    if (v === undefined) continue
    if (typeof v === 'number' || v.tiers.length !== 1 || !(v.base > 0)) return null
    const [{ start, price: upper }] = v.tiers as [{ start: number; price: number }]
    const multiple = Math.round((upper / v.base) * 1000) / 1000
    if (multiple < 1 || Math.abs(v.base * multiple - upper) > 1e-9 * upper) return null
    starts.add(start)
    multiples[OUTPUT_TOKEN_KEYS.has(key) ? 'output' : 'input'].add(multiple)
  }
  const [above] = starts
  if (starts.size !== 1 || !Number.isInteger(above) || above! < 1 || multiples.input.size !== 1 || multiples.output.size !== 1) return null
  return { above: above!, input: [...multiples.input][0]!, output: [...multiples.output][0]! }
}

/** A tiered price (by prompt size) at its dearest tier: the estimate does not know the prompt's tier. */
function dearestTier(v: number | TieredPrices, key: string, notes: Set<string>): number {
  if (typeof v === 'number') return v
  notes.add(`${key} is tiered by prompt size: the dearest tier is used`)
  return Math.max(v.base, ...v.tiers.map((t) => t.price))
}

/** Whole micro-USD, the price book's unit: a finer catalog price is rounded up, never down. */
function wholeMicros(usd: number, key: string, notes: Set<string>): number {
  const micros = usd * 1e6
  const whole = Math.ceil(micros - 1e-6)
  if (Math.abs(whole - micros) > 1e-6) notes.add(`${key} is finer than a micro-USD: rounded up`)
  return whole / 1e6
}
