/**
 * Generic cell rate algorithm: "at most `limit` requests per `windowMs`", with bursts up to `limit`.
 * Each client costs one number (its theoretical arrival time, in µs), so memory stays small, and the
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
 * One step of the algorithm: the decision for a request at `now` (ms) given the client's stored arrival time
 * (µs; undefined: none), and the arrival time to store when it is allowed. GCRA_SCRIPT (src/redis/rate-limiter.ts)
 * takes the same step inside Redis; the gateway then calls this with what the script saw, for identical headers.
 *
 * Time is counted in whole microseconds and the interval between requests rounded up to one, so every value is
 * an integer below 2^53 and the arithmetic is exact: `limit` requests at once are allowed, the next is refused,
 * and the remaining count is right. (In milliseconds since 1970, ~1.8e12 with doubles 2.4e-4 apart,
 * `now + window / limit` rounds, and a limit that does not divide the window — 9, 17, 700 a minute — allowed
 * one request fewer.) The allowance is `limit` intervals, so a request comes back under 1 µs later than
 * `window / limit`: never more than `limit` a window.
 */
export function gcraStep(stored: number | undefined, now: number, limit: number, windowMs: number): { decision: RateDecision; next?: number } {
  const nowUs = Math.round(now * 1000)
  const interval = Math.ceil((windowMs * 1000) / limit)
  const allowance = interval * limit
  const tat = stored !== undefined && stored > nowUs ? stored : nowUs
  const next = tat + interval
  if (next - nowUs > allowance) {
    return {
      decision: {
        allowed: false, limit, remaining: 0,
        reset: Math.ceil(tat / 1e6),
        retryAfter: Math.max(1, Math.ceil((next - nowUs - allowance) / 1e6)),
      },
    }
  }
  return {
    decision: {
      allowed: true, limit,
      remaining: Math.floor((allowance - (next - nowUs)) / interval),
      reset: Math.ceil(next / 1e6),
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
    for (const [id, tat] of this.tat) if (tat <= now * 1000) this.tat.delete(id)
  }

  stop(): void {
    clearInterval(this.sweeper)
  }
}
