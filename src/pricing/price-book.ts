import type { Database } from 'bun:sqlite'
import type { PriceSeed } from '../config/schema'
import { usdToMicros } from '../budget/money'
import type { Price } from './price'

interface PriceRow {
  id: number
  model: string
  input_per_million: number
  output_per_million: number
  cached_input_per_million: number | null
  per_request: number | null
  created_at: number
  deleted_at: number | null
}

const toPrice = (r: PriceRow): Price => ({
  id: r.id, model: r.model, inputPerMillion: r.input_per_million, outputPerMillion: r.output_per_million,
  cachedInputPerMillion: r.cached_input_per_million, perRequest: r.per_request, createdAt: r.created_at,
})

export interface NewPrice {
  model: string
  input_per_million: number
  output_per_million: number
  cached_input_per_million?: number | null
  per_request?: number | null
}

/**
 * The prices in force, kept in memory (one query per `ttlMs`, or at once after a change through this
 * process), so that no proxied request reads the price table.
 */
export class PriceBook {
  private current = new Map<string, Price>()
  private loadedAt = -Infinity
  private readonly selectCurrent
  private readonly insert
  private readonly markDeleted

  constructor(private readonly db: Database, private readonly ttlMs: number) {
    // The newest row of each model, unless that row was deleted.
    this.selectCurrent = db.prepare<PriceRow, []>(
      `SELECT p.* FROM prices p
        WHERE p.id = (SELECT id FROM prices q WHERE q.model = p.model ORDER BY q.created_at DESC, q.id DESC LIMIT 1)
          AND p.deleted_at IS NULL`,
    )
    this.insert = db.prepare<PriceRow, [string, number, number, number | null, number | null, number]>(
      `INSERT INTO prices (model, input_per_million, output_per_million, cached_input_per_million, per_request, created_at)
       VALUES (?, ?, ?, ?, ?, ?) RETURNING *`,
    )
    this.markDeleted = db.prepare<PriceRow, [number, string]>(
      `UPDATE prices SET deleted_at = ?1
        WHERE id = (SELECT id FROM prices WHERE model = ?2 ORDER BY created_at DESC, id DESC LIMIT 1) AND deleted_at IS NULL
        RETURNING *`,
    )
  }

  /** The price in force for `provider:model`, or null when the model is unpriced. */
  priceOf(model: string, now = Date.now()): Price | null {
    if (now - this.loadedAt > this.ttlMs) this.reload(now)
    return this.current.get(model) ?? null
  }

  all(now = Date.now()): Price[] {
    if (now - this.loadedAt > this.ttlMs) this.reload(now)
    return [...this.current.values()].sort((a, b) => a.model.localeCompare(b.model))
  }

  /** A new row for the model; it applies to requests from now on, and older usage rows keep citing theirs. */
  set(p: NewPrice, now = Date.now()): Price {
    const row = this.insert.get(
      p.model, usdToMicros(p.input_per_million), usdToMicros(p.output_per_million),
      p.cached_input_per_million == null ? null : usdToMicros(p.cached_input_per_million),
      p.per_request == null ? null : usdToMicros(p.per_request), now,
    )!
    this.invalidate()
    return toPrice(row)
  }

  /** The model becomes unpriced; its rows stay, as history. Returns the row that was in force, if any. */
  remove(model: string, now = Date.now()): Price | null {
    const row = this.markDeleted.get(now, model)
    this.invalidate()
    return row ? toPrice(row) : null
  }

  /** The config's `pricing` section seeds models that have no price row at all; later changes go through the API. */
  seed(pricing: Record<string, PriceSeed>, now = Date.now()): number {
    const known = this.db.prepare<{ n: number }, [string]>('SELECT count(*) AS n FROM prices WHERE model = ?')
    let added = 0
    for (const [model, seed] of Object.entries(pricing)) {
      if (known.get(model)!.n > 0) continue
      this.set({ model, ...seed }, now)
      added++
    }
    return added
  }

  invalidate(): void {
    this.loadedAt = -Infinity
  }

  private reload(now: number): void {
    this.current = new Map(this.selectCurrent.all().map((r) => [r.model, toPrice(r)]))
    this.loadedAt = now
  }
}
