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

/** Counts requests per client id: in this process (GcraLimiter) or shared by every replica (src/redis). */
export interface RateLimiter {
  hit(id: string, limit: number): RateDecision | Promise<RateDecision>
}

/**
 * One step of the algorithm: the decision for a request at `now` given the client's stored arrival time
 * (undefined: none), and the arrival time to store when it is allowed. src/redis/gcra.lua takes the same
 * step inside Redis; the gateway then calls this with what the script saw, for identical headers.
 */
export function gcraStep(stored: number | undefined, now: number, limit: number, windowMs: number): { decision: RateDecision; next?: number } {
  const interval = windowMs / limit
  const tat = stored !== undefined && stored > now ? stored : now
  const next = tat + interval
  if (next - now > windowMs) {
    return {
      decision: {
        allowed: false, limit, remaining: 0,
        reset: Math.ceil(tat / 1000),
        retryAfter: Math.max(1, Math.ceil((next - now - windowMs) / 1000)),
      },
    }
  }
  return {
    decision: {
      allowed: true, limit,
      remaining: Math.max(0, Math.floor((windowMs - (next - now)) / interval + 1e-9)),
      reset: Math.ceil(next / 1000),
      retryAfter: 0,
    },
    next,
  }
}

const DEFAULT_MAX_ENTRIES = 100_000

export class GcraLimiter implements RateLimiter {
  private readonly tat = new Map<string, number>()
  private readonly sweeper: Timer

  constructor(private readonly windowMs = 60_000, private readonly maxEntries = DEFAULT_MAX_ENTRIES) {
    // Idle clients are forgotten: an entry whose arrival time has passed holds no information.
    this.sweeper = setInterval(() => this.sweep(Date.now()), windowMs)
    this.sweeper.unref()
  }

  hit(id: string, limit: number, now = Date.now()): RateDecision {
    const stored = this.tat.get(id)
    const { decision, next } = gcraStep(stored, now, limit, this.windowMs)
    if (next === undefined) return decision
    if (stored === undefined && this.tat.size >= this.maxEntries) this.tat.delete(this.tat.keys().next().value!)
    this.tat.set(id, next)
    return decision
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
