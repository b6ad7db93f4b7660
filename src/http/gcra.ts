/**
 * Generic cell rate algorithm: "at most `limit` requests per `windowMs`", with bursts up to `limit`.
 * Each client costs one number (its theoretical arrival time), so memory stays small, and the
 * remaining count and reset time fall out exactly for the X-RateLimit-* headers.
 */
export interface RateDecision {
  allowed: boolean
  limit: number
  remaining: number
  /** Unix seconds when the full allowance is back. */
  reset: number
  /** Seconds to wait before a retry can succeed (only when refused). */
  retryAfter: number
}

const DEFAULT_MAX_ENTRIES = 100_000

export class GcraLimiter {
  private readonly tat = new Map<string, number>()
  private readonly sweeper: Timer

  constructor(private readonly windowMs = 60_000, private readonly maxEntries = DEFAULT_MAX_ENTRIES) {
    // Idle clients are forgotten: an entry whose arrival time has passed holds no information.
    this.sweeper = setInterval(() => this.sweep(Date.now()), windowMs)
    this.sweeper.unref()
  }

  hit(id: string, limit: number, now = Date.now()): RateDecision {
    const interval = this.windowMs / limit
    const stored = this.tat.get(id)
    const tat = stored !== undefined && stored > now ? stored : now
    const next = tat + interval
    if (next - now > this.windowMs) {
      return {
        allowed: false, limit, remaining: 0,
        reset: Math.ceil(tat / 1000),
        retryAfter: Math.max(1, Math.ceil((next - now - this.windowMs) / 1000)),
      }
    }
    if (stored === undefined && this.tat.size >= this.maxEntries) this.tat.delete(this.tat.keys().next().value!)
    this.tat.set(id, next)
    return {
      allowed: true, limit,
      remaining: Math.max(0, Math.floor((this.windowMs - (next - now)) / interval + 1e-9)),
      reset: Math.ceil(next / 1000),
      retryAfter: 0,
    }
  }

  get size(): number {
    return this.tat.size
  }

  sweep(now: number): void {
    for (const [id, tat] of this.tat) if (tat <= now) this.tat.delete(id)
  }

  stop(): void {
    clearInterval(this.sweeper)
  }
}
