import type { PriceSeed } from '../config/schema'
import { yieldToRequests } from '../db/maintenance'
import { OldestFirstEviction } from '../oldest-first-eviction'
import { forgettingChange } from '../store/late-write'
import type { PriceRow, PriceRows, Unpriced } from '../store/store'
import type { CacheChange } from '../redis/change-feed'
import type { Price } from './price'
import { InvalidPrice, priceMicros, type PriceAmounts } from './price-amounts'
import { PriceListing } from './price-listing'

const jsonRecord = (v: string | Record<string, number> | null): Record<string, number> => (v === null ? {} : typeof v === 'string' ? JSON.parse(v) : v)

const toPrice = (r: PriceRow): Price => ({
  id: r.id, model: r.model, inputPerMillion: r.input_per_million, outputPerMillion: r.output_per_million,
  cachedInputPerMillion: r.cached_input_per_million, perRequest: r.per_request, createdAt: r.created_at, source: r.source,
  cacheWritePerMillion: r.cache_write_per_million, cacheWrite1hPerMillion: r.cache_write_1h_per_million,
  audioInputPerMillion: r.audio_input_per_million, audioOutputPerMillion: r.audio_output_per_million,
  imageOutputPerMillion: r.image_output_per_million,
  serverTools: jsonRecord(r.server_tools), tierMultipliers: jsonRecord(r.service_tiers), longContextAboveTokens: r.long_context_above_tokens,
  mediaPartTokens: r.media_part_tokens, contextWindowTokens: r.context_window_tokens, templateOverheadTokens: r.template_overhead_tokens,
})

/**
 * How far apart the clocks of the processes writing prices may be: a row "from now" another replica wrote with a clock
 * ahead of this one starts after this one's now, and a change based on the row before it must still see it. (Postgres
 * replicas further than this from the database's clock are warned of at startup.)
 */
const CLOCK_SKEW_MS = 5_000

/** By code unit, as `<` compares. */
const byModel = (prices: Price[]): Price[] => prices.sort((a, b) => (a.model < b.model ? -1 : a.model > b.model ? 1 : 0))

/** Prices in force one read of the listing takes: a few ms of the request thread, where every one at once took ~100 ms at 50,000. */
const LISTING_PAGE = 1000

/**
 * Every price in force at `now`, by model, read a page at a time with the request thread free between pages for
 * the requests waiting behind them. The pages are not one snapshot: a change meanwhile marks the listing stale.
 */
async function inForceByModelInPages(rows: PriceRows, now: number): Promise<Price[]> {
  const prices: Price[] = []
  for (let after = ''; ; ) {
    const page = await rows.page(after, LISTING_PAGE, 0, now)
    for (const row of page) prices.push(toPrice(row))
    if (page.length < LISTING_PAGE) return byModel(prices)
    after = page.at(-1)!.model
    await yieldToRequests()
  }
}

/** An empty map is stored as NULL: the row prices no feature. */
const jsonOrNull = (record: Record<string, number>): string | null => (Object.keys(record).length === 0 ? null : JSON.stringify(record))

/** A price row as history: in force, superseded by a newer row, or deleted. */
export interface PriceRecord extends Price {
  deletedAt: number | null
  /** When the row stopped applying (a newer row for the model, or its deletion); null while in force. */
  endedAt: number | null
}

const toRecord = (r: PriceRow & { ended_at: number | null }): PriceRecord => ({ ...toPrice(r), deletedAt: r.deleted_at, endedAt: r.ended_at })

interface NewPrice extends PriceAmounts {
  model: string
  /** Unix ms it takes effect from, later than now; omitted: from now. */
  effectiveFrom?: number
  source?: string | null
  /** The id of the row in force the change was made from (null: the model had none); omitted: not checked. */
  basedOn?: number | null
}

/** A change based on a row in force that no longer is: another change of the model came first. */
export class PriceChanged extends Error {
  constructor(readonly model: string, readonly basedOn: number | null) {
    super(`the price in force for ${model} is no longer ${basedOn === null ? 'none' : `row ${basedOn}`}`)
  }
}

interface HistoryPage {
  /** One model's rows, or every model's when null. */
  model: string | null
  /** Rows with an id below this one (the cursor of the previous page). */
  beforeId?: number
  limit: number
  offset?: number
}

/** The price of a model as this process last read it. */
interface CachedPrice {
  /** null: the model is unpriced (cached too, so a flood of one unpriced model costs one lookup per TTL). */
  price: Price | null
  /** performance.now() as the read began: a step of the wall clock neither stretches nor cuts `ttlMs`. */
  readAt: number
  /** When the model's next scheduled row takes effect (the entry must not outlive it). */
  nextStart: number
}

/** What a lookup of a model read: the price in force at its `now`, and when that stops being the price. */
interface LookedUp {
  price: Price | null
  nextStart: number
}

/** A model's lookup under way, and the generation it began at. */
interface Lookup {
  generation: number
  done: Promise<LookedUp>
}

/** The most models whose price is kept: a client naming ever new models does not grow the process. */
const MAX_CACHED_MODELS = 100_000
/**
 * The most names found unpriced that are kept, apart: any key may name ever new made-up models for free (a retrieve,
 * a refused request), and kept among the priced ones, 100,000 of them pinned ~150 MB of names for good.
 */
const MAX_CACHED_UNPRICED = 10_000

/**
 * The prices in force, kept in memory one model at a time as requests ask for them (one lookup of the model per
 * `ttlMs`, at once after a change through this process, and at the moment a row scheduled for it takes effect), so
 * that a proxied request reads the price table for its own model at most once a TTL, and never the whole table:
 * a price book of tens of thousands of models (one a fine-tune) costs a request what one model does.
 */
export class PriceBook {
  private readonly cache = new Map<string, CachedPrice>()
  private readonly eviction = new OldestFirstEviction(this.cache)
  private readonly unpriced = new Map<string, CachedPrice>()
  private readonly unpricedEviction = new OldestFirstEviction(this.unpriced)
  /**
   * Lookups under way: callers that find the model stale meanwhile wait for its lookup rather than start another
   * — unless a change came since, which its read may not have seen.
   */
  private readonly lookups = new Map<string, Lookup>()
  /** Bumped by every change: a lookup that began before one is answered but not kept. */
  private generation = 0
  private readonly listing: PriceListing
  /** Told of every change made through this process, for the other replicas. */
  onChange: (change: CacheChange) => void = () => {}

  constructor(private readonly rows: PriceRows, private readonly ttlMs: number) {
    this.listing = new PriceListing(rows, ttlMs, inForceByModelInPages)
  }

  /** The price in force for `provider:model`, or null when the model is unpriced. */
  async priceOf(model: string, now = Date.now()): Promise<Price | null> {
    const cached = this.cache.get(model) ?? this.unpriced.get(model)
    if (cached && performance.now() - cached.readAt <= this.ttlMs && now < cached.nextStart) return cached.price
    return this.lookUp(model, now)
  }

  /** The price in force as cached, without reading the database (a metrics label, say); null when unknown. */
  cachedPriceOf(model: string): Price | null {
    return this.cache.get(model)?.price ?? null
  }

  /** Every price in force, by model as `<` compares, as cached for listing (see PriceListing). */
  all(now = Date.now()): Promise<Price[]> {
    return this.listing.all(now)
  }

  /**
   * The price in force as the database has it now, not as this process cached it: what an operator reads to change
   * it from. Behind a load balancer the cache may be another replica's change behind (up to `ttlMs`), and a
   * change made from it would write the older rates back for good.
   */
  async storedPriceOf(model: string, now = Date.now()): Promise<Price | null> {
    const { inForce } = await this.rows.ofModel(model, now)
    return inForce && toPrice(inForce)
  }

  /**
   * Every price in force as the database has it now (see `storedPriceOf`), by model as `all` sorts them: read a page
   * at a time, as the listing is, and so not one snapshot.
   */
  async storedPrices(now = Date.now()): Promise<Price[]> {
    return inForceByModelInPages(this.rows, now)
  }

  /**
   * A page of the prices in force as the database has them now (see `storedPriceOf`), by model as the database
   * orders text: the models after `after` (undefined: from the first, past `offset` of them), at most `limit`.
   */
  async storedPage(after: string | undefined, limit: number, offset: number, now = Date.now()): Promise<Price[]> {
    return (await this.rows.page(after ?? '', limit, after === undefined ? offset : 0, now)).map(toPrice)
  }

  /** Price rows newest first, superseded and deleted ones included: what usage rows' `price_id` cite. */
  async history(page: HistoryPage): Promise<PriceRecord[]> {
    return (await this.rows.history(page.model, page.beforeId ?? null, page.limit, page.offset ?? 0)).map(toRecord)
  }

  /** Any price row by id, whether in force or not. */
  async record(id: number): Promise<PriceRecord | null> {
    const row = await this.rows.record(id)
    return row ? toRecord(row) : null
  }

  /**
   * A new row for the model; it applies to requests from now on (or from its later `effectiveFrom`), and
   * older usage rows keep citing theirs. Throws InvalidPrice when an amount is not a whole number of
   * micro-USD, or the effective time is in the past (what past requests cost is history), and PriceChanged when
   * it is `basedOn` a row no longer in force (nothing written).
   */
  async set(p: NewPrice, now = Date.now()): Promise<Price> {
    const m = priceMicros(p.model, p)
    if (p.effectiveFrom !== undefined && p.effectiveFrom < now) throw new InvalidPrice(p.model, 'effective_from', 'must not be in the past')
    const basedOn = p.basedOn === undefined ? undefined : { id: p.basedOn, at: now, startsBy: now + CLOCK_SKEW_MS }
    const row = await this.changing(() =>
      this.rows.insert({
        model: p.model, input_per_million: m.inputPerMillion, output_per_million: m.outputPerMillion,
        cached_input_per_million: m.cachedInputPerMillion, per_request: m.perRequest, cache_write_per_million: m.cacheWritePerMillion,
        cache_write_1h_per_million: m.cacheWrite1hPerMillion, audio_input_per_million: m.audioInputPerMillion,
        audio_output_per_million: m.audioOutputPerMillion, image_output_per_million: m.imageOutputPerMillion, server_tools: jsonOrNull(m.serverTools), service_tiers: jsonOrNull(m.tierMultipliers),
        long_context_above_tokens: m.longContextAboveTokens, media_part_tokens: m.mediaPartTokens,
        context_window_tokens: m.contextWindowTokens, template_overhead_tokens: m.templateOverheadTokens, created_at: p.effectiveFrom ?? now, source: p.source ?? null,
      }, basedOn),
    )
    if (!row) throw new PriceChanged(p.model, p.basedOn ?? null)
    return toPrice(row)
  }

  /**
   * The model becomes unpriced, and the rows scheduled for it are cancelled; its rows stay, as history. On every
   * process: the row a clock up to CLOCK_SKEW_MS behind this one still has in force is deleted too (a row scheduled
   * on this clock never applies anywhere, cancelled). Returns the latest of the rows that were in force, if any, and
   * how many scheduled rows were cancelled.
   */
  async remove(model: string, now = Date.now()): Promise<Unpriced<Price>> {
    const unpricing = { at: now, inForceFrom: now - CLOCK_SKEW_MS }
    const { inForce, cancelledScheduled } = await this.changing(() => this.rows.unprice(model, unpricing))
    return { inForce: inForce ? toPrice(inForce) : null, cancelledScheduled }
  }

  /**
   * The config's `pricing` section seeds models that have no price row at all; later changes go through the API.
   * Every seed is checked first, those already in the database too: an invalid one throws InvalidPrice and
   * nothing is written.
   */
  async seed(pricing: Record<string, PriceSeed>, now = Date.now()): Promise<number> {
    for (const [model, seed] of Object.entries(pricing)) priceMicros(model, seed)
    let added = 0
    for (const [model, seed] of Object.entries(pricing)) {
      if ((await this.rows.countOf(model)) > 0) continue
      await this.set({ model, ...seed }, now)
      added++
    }
    return added
  }

  /** Reads the prices again at the next request (another process changed them). */
  invalidate(): void {
    this.generation++
    this.cache.clear()
    this.unpriced.clear()
    this.listing.invalidate()
  }

  /** Writes a change, then has every process read the prices again whether it was answered or not (forgettingChange). */
  private changing<T>(write: () => Promise<T>): Promise<T> {
    return forgettingChange(write, () => {
      this.invalidate()
      this.onChange({ kind: 'prices' })
    })
  }

  private async lookUp(model: string, now: number): Promise<Price | null> {
    const running = this.lookups.get(model)
    if (running?.generation !== this.generation) return (await this.startLookUp(model, now)).price
    const joined = await running.done
    if (now < joined.nextStart) return joined.price
    // The lookup began before a scheduled row started and read the row in force then; this request came after.
    return this.priceOf(model, now)
  }

  private startLookUp(model: string, now: number): Promise<LookedUp> {
    const generation = this.generation
    const readAt = performance.now()
    const done = this.rows.ofModel(model, now).then(({ inForce, nextStart }) => {
      const answer = { price: inForce && toPrice(inForce), nextStart: nextStart ?? Infinity }
      if (generation === this.generation) this.remember(model, { ...answer, readAt })
      return answer
    })
    const lookup = { generation, done }
    this.lookups.set(model, lookup)
    const over = () => {
      if (this.lookups.get(model) === lookup) this.lookups.delete(model)
    }
    done.then(over, over)
    return done
  }

  private remember(model: string, entry: CachedPrice): void {
    const [kept, other, eviction, max] = entry.price
      ? [this.cache, this.unpriced, this.eviction, MAX_CACHED_MODELS]
      : [this.unpriced, this.cache, this.unpricedEviction, MAX_CACHED_UNPRICED]
    other.delete(model)
    if (!kept.has(model) && kept.size >= max) eviction.evictOldest()
    kept.set(model, entry)
  }
}
