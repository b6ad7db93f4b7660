import type { PriceRows } from '../store/store'
import type { Price } from './price'

/**
 * Every price in force, as GET /v1/models lists them, kept in memory (one read of every model per `ttlMs`, at once
 * after a change, and at the moment a scheduled row takes effect), so that a listing is answered from memory and
 * still is while the database does not answer. Requests price their own model through the PriceBook's cache of one
 * model at a time, never through this: a read of every model is the listing's alone.
 */
export class PriceListing {
  private listed: Price[] = []
  /** performance.now() as the last read began: a step of the wall clock neither stretches nor cuts `ttlMs`. */
  private loadedAt = -Infinity
  /** When the next scheduled row takes effect (the listing must not outlive it). */
  private nextChangeAt = Infinity
  /**
   * A reload under way and the generation it began at: callers that find the listing stale meanwhile wait for
   * it rather than start another — unless a change came since, which its read may not have seen.
   */
  private reloading: { generation: number; done: Promise<void> } | null = null
  /** Bumped by every change: a reload that began before one must not mark the listing fresh. */
  private generation = 0

  constructor(
    private readonly rows: PriceRows,
    private readonly ttlMs: number,
    /** The prices in force as read, by model. */
    private readonly inForce: (rows: PriceRows, now: number) => Promise<Price[]>,
  ) {}

  async all(now = Date.now()): Promise<Price[]> {
    if (performance.now() - this.loadedAt > this.ttlMs || now >= this.nextChangeAt) await this.reload(now)
    return this.listed
  }

  /** Reads the prices again at the next listing (they changed). */
  invalidate(): void {
    this.loadedAt = -Infinity
    this.generation++
  }

  private async reload(now: number): Promise<void> {
    const running = this.reloading
    if (running?.generation === this.generation) {
      await running.done
      // That reload began before a scheduled row started and read the prices in force then; this listing came after.
      if (now >= this.nextChangeAt) await this.reload(now)
      return
    }
    const generation = this.generation
    const readAt = performance.now()
    const read = (async () => {
      // One begun before the change is still reading: this one reads after it has written its rows, so
      // that its older ones never replace these.
      if (running) await running.done.catch(() => {})
      const [listed, next] = await Promise.all([this.inForce(this.rows, now), this.rows.nextChange(now)])
      this.listed = listed
      this.nextChangeAt = next ?? Infinity
      if (generation === this.generation) this.loadedAt = readAt
    })()
    const reload = {
      generation,
      done: read.finally(() => {
        if (this.reloading === reload) this.reloading = null
      }),
    }
    this.reloading = reload
    return reload.done
  }
}
