import type { Database } from 'bun:sqlite'
import type { PriceSeed } from '../config/schema'
import type { CacheChange } from '../redis/change-feed'
import type { Price } from './price'
import { InvalidPrice, priceMicros, type PriceAmounts } from './price-amounts'

interface PriceRow {
  id: number
  model: string
  input_per_million: number
  output_per_million: number
  cached_input_per_million: number | null
  per_request: number | null
  cache_write_per_million: number | null
  cache_write_1h_per_million: number | null
  audio_input_per_million: number | null
  audio_output_per_million: number | null
  /** JSON: micro-USD per use, by tool. */
  server_tools: string | null
  /** JSON: thousandths, by tier. */
  service_tiers: string | null
  created_at: number
  source: string | null
  deleted_at: number | null
}

const jsonRecord = (text: string | null): Record<string, number> => (text ? JSON.parse(text) : {})

const toPrice = (r: PriceRow): Price => ({
  id: r.id, model: r.model, inputPerMillion: r.input_per_million, outputPerMillion: r.output_per_million,
  cachedInputPerMillion: r.cached_input_per_million, perRequest: r.per_request, createdAt: r.created_at, source: r.source,
  cacheWritePerMillion: r.cache_write_per_million, cacheWrite1hPerMillion: r.cache_write_1h_per_million,
  audioInputPerMillion: r.audio_input_per_million, audioOutputPerMillion: r.audio_output_per_million,
  serverTools: jsonRecord(r.server_tools), tierMultipliers: jsonRecord(r.service_tiers),
})

/** An empty map is stored as NULL: the row prices no feature. */
const jsonOrNull = (record: Record<string, number>): string | null => (Object.keys(record).length === 0 ? null : JSON.stringify(record))

/** A price row as history: in force, superseded by a newer row, or deleted. */
export interface PriceRecord extends Price {
  deletedAt: number | null
  /** When the row stopped applying (a newer row for the model, or its deletion); null while in force. */
  endedAt: number | null
}

const toRecord = (r: PriceRow & { ended_at: number | null }): PriceRecord => ({ ...toPrice(r), deletedAt: r.deleted_at, endedAt: r.ended_at })

/** Rows with the time each stopped applying: its deletion, else the creation of the next row for its model. */
const RECORDS = `SELECT p.*, coalesce(p.deleted_at, (
    SELECT min(q.created_at) FROM prices q
     WHERE q.model = p.model AND (q.created_at > p.created_at OR (q.created_at = p.created_at AND q.id > p.id))
  )) AS ended_at
  FROM prices p`

export interface NewPrice extends PriceAmounts {
  model: string
  /** Unix ms it takes effect from, later than now; omitted: from now. */
  effectiveFrom?: number
  source?: string | null
}

export interface HistoryPage {
  /** One model's rows, or every model's when null. */
  model: string | null
  /** Rows with an id below this one (the cursor of the previous page). */
  beforeId?: number
  limit: number
  offset?: number
}

/**
 * The prices in force, kept in memory (one query per `ttlMs`, at once after a change through this
 * process, and at the moment a scheduled row takes effect), so that no proxied request reads the price table.
 */
export class PriceBook {
  private current = new Map<string, Price>()
  private loadedAt = -Infinity
  /** When the next scheduled row takes effect (the cache must not outlive it). */
  private nextChangeAt = Infinity
  private readonly selectNextChange
  private readonly selectCurrent
  private readonly insert
  private readonly markDeleted
  private readonly selectHistory
  private readonly selectRecord
  private readonly cancelScheduled
  /** Told of every change made through this process, for the other replicas. */
  onChange: (change: CacheChange) => void = () => {}

  constructor(private readonly db: Database, private readonly ttlMs: number) {
    // The newest row of each model that has taken effect, unless that row was deleted.
    this.selectCurrent = db.prepare<PriceRow, [number]>(
      `SELECT p.* FROM prices p
        WHERE p.id = (SELECT id FROM prices q WHERE q.model = p.model AND q.created_at <= ?1 ORDER BY q.created_at DESC, q.id DESC LIMIT 1)
          AND p.deleted_at IS NULL`,
    )
    this.selectNextChange = db.prepare<{ at: number | null }, [number]>('SELECT min(created_at) AS at FROM prices WHERE created_at > ? AND deleted_at IS NULL')
    type Row = [string, number, number, number | null, number | null, number | null, number | null, number | null, number | null, string | null, string | null, number, string | null]
    this.insert = db.prepare<PriceRow, Row>(
      `INSERT INTO prices (model, input_per_million, output_per_million, cached_input_per_million, per_request,
         cache_write_per_million, cache_write_1h_per_million, audio_input_per_million, audio_output_per_million,
         server_tools, service_tiers, created_at, source)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`,
    )
    this.markDeleted = db.prepare<PriceRow, [number, string]>(
      `UPDATE prices SET deleted_at = ?1
        WHERE id = (SELECT id FROM prices WHERE model = ?2 AND created_at <= ?1 ORDER BY created_at DESC, id DESC LIMIT 1) AND deleted_at IS NULL
        RETURNING *`,
    )
    // Unpricing a model also cancels the changes scheduled for it: unpriced means unpriced.
    this.cancelScheduled = db.prepare<unknown, [number, string]>('UPDATE prices SET deleted_at = ?1 WHERE model = ?2 AND created_at > ?1 AND deleted_at IS NULL')
    this.selectHistory = db.prepare<PriceRow & { ended_at: number | null }, [string | null, number | null, number, number]>(
      `${RECORDS} WHERE (?1 IS NULL OR p.model = ?1) AND (?2 IS NULL OR p.id < ?2) ORDER BY p.id DESC LIMIT ?3 OFFSET ?4`,
    )
    this.selectRecord = db.prepare<PriceRow & { ended_at: number | null }, [number]>(`${RECORDS} WHERE p.id = ?1`)
  }

  /** The price in force for `provider:model`, or null when the model is unpriced. */
  priceOf(model: string, now = Date.now()): Price | null {
    if (now - this.loadedAt > this.ttlMs || now >= this.nextChangeAt) this.reload(now)
    return this.current.get(model) ?? null
  }

  all(now = Date.now()): Price[] {
    if (now - this.loadedAt > this.ttlMs || now >= this.nextChangeAt) this.reload(now)
    // By code unit, as `<` compares: a page's cursor is the last model shown.
    return [...this.current.values()].sort((a, b) => (a.model < b.model ? -1 : a.model > b.model ? 1 : 0))
  }

  /** Price rows newest first, superseded and deleted ones included: what usage rows' `price_id` cite. */
  history(page: HistoryPage): PriceRecord[] {
    return this.selectHistory.all(page.model, page.beforeId ?? null, page.limit, page.offset ?? 0).map(toRecord)
  }

  /** Any price row by id, whether in force or not. */
  record(id: number): PriceRecord | null {
    const row = this.selectRecord.get(id)
    return row ? toRecord(row) : null
  }

  /**
   * A new row for the model; it applies to requests from now on (or from its later `effectiveFrom`), and
   * older usage rows keep citing theirs. Throws InvalidPrice when an amount is not a whole number of
   * micro-USD, or the effective time is in the past (what past requests cost is history).
   */
  set(p: NewPrice, now = Date.now()): Price {
    const m = priceMicros(p.model, p)
    if (p.effectiveFrom !== undefined && p.effectiveFrom < now) throw new InvalidPrice(p.model, 'effective_from', 'must not be in the past')
    const row = this.insert.get(
      p.model, m.inputPerMillion, m.outputPerMillion, m.cachedInputPerMillion, m.perRequest,
      m.cacheWritePerMillion, m.cacheWrite1hPerMillion, m.audioInputPerMillion, m.audioOutputPerMillion,
      jsonOrNull(m.serverTools), jsonOrNull(m.tierMultipliers), p.effectiveFrom ?? now, p.source ?? null,
    )!
    this.changed()
    return toPrice(row)
  }

  /** The model becomes unpriced; its rows stay, as history. Returns the row that was in force, if any. */
  remove(model: string, now = Date.now()): Price | null {
    const row = this.markDeleted.get(now, model)
    this.cancelScheduled.run(now, model)
    this.changed()
    return row ? toPrice(row) : null
  }

  /**
   * The config's `pricing` section seeds models that have no price row at all; later changes go through the API.
   * Every seed is checked first, those already in the database too: an invalid one throws InvalidPrice and
   * nothing is written.
   */
  seed(pricing: Record<string, PriceSeed>, now = Date.now()): number {
    for (const [model, seed] of Object.entries(pricing)) priceMicros(model, seed)
    const known = this.db.prepare<{ n: number }, [string]>('SELECT count(*) AS n FROM prices WHERE model = ?')
    let added = 0
    for (const [model, seed] of Object.entries(pricing)) {
      if (known.get(model)!.n > 0) continue
      this.set({ model, ...seed }, now)
      added++
    }
    return added
  }

  /** Reads the prices again at the next request (another process changed them). */
  invalidate(): void {
    this.loadedAt = -Infinity
  }

  private changed(): void {
    this.invalidate()
    this.onChange({ kind: 'prices' })
  }

  private reload(now: number): void {
    this.current = new Map(this.selectCurrent.all(now).map((r) => [r.model, toPrice(r)]))
    this.nextChangeAt = this.selectNextChange.get(now)?.at ?? Infinity
    this.loadedAt = now
  }
}
