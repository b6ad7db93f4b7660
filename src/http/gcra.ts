/**
 * Generic cell rate algorithm: "at most `limit` requests per `windowMs`", with bursts up to `limit`.
 * Each client costs two numbers (its theoretical arrival time and the limit it was counted under), so memory
 * stays small, and the remaining count and reset time fall out exactly for the X-RateLimit-* headers.
 */
import { OldestFirstEviction } from '../oldest-first-eviction'

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
  /** Ends its upkeep (the idle clients' sweep): called when the gateway stops. */
  stop(): void
}

/** What is kept of a client. */
interface GcraState {
  /** Theoretical arrival time, µs since 1970: the allowance is whole again then. */
  tat: number
  /** The limit `tat` was counted under. */
  limit: number
}

const intervalOf = (limit: number, windowMs: number) => Math.ceil((windowMs * 1000) / limit)

/**
 * A stored arrival time, never further ahead of `now` than its limit's whole allowance. A state is never stored
 * further ahead than that; one that lies further ahead was stored before the clock stepped back (an NTP
 * correction, a VM resumed, Redis failed over to a host whose clock is behind). Taken as it is, it would refuse
 * the client for the size of the step; dropped, it would forget the requests counted, and a client that had just
 * used its whole allowance (exactly at the boundary) would get a second one after any step back, even of 1 ms.
 * So it is taken as the whole allowance used: the client waits one interval at most. GCRA_SCRIPT
 * (src/redis/rate-limiter.ts) mirrors this rule.
 */
const clampedTat = (stored: GcraState, nowUs: number, windowMs: number) =>
  Math.min(stored.tat, nowUs + intervalOf(stored.limit, windowMs) * stored.limit)

/**
 * One step of the algorithm: the decision for a request at `now` (ms) given the client's stored state
 * (undefined: none), and the state to store: the new one when it is allowed; when it is refused, the stored one
 * clamped, if it was (see clampedTat): clamped again at each later "now", it would refuse the client for the whole
 * step. GCRA_SCRIPT (src/redis/rate-limiter.ts)
 * takes the same step inside Redis; the gateway then calls this with what the script saw, for identical headers.
 *
 * Time is counted in whole microseconds and the interval between requests rounded up to one, so every value is
 * an integer below 2^53 and the arithmetic is exact: `limit` requests at once are allowed, the next is refused,
 * and the remaining count is right. (In milliseconds since 1970, ~1.8e12 with doubles 2.4e-4 apart,
 * `now + window / limit` rounds, and a limit that does not divide the window — 9, 17, 700 a minute — allowed
 * one request fewer.) The allowance is `limit` intervals, so a request comes back under 1 µs later than
 * `window / limit`: never more than `limit` a window.
 */
export function gcraStep(stored: GcraState | undefined, now: number, limit: number, windowMs: number): { decision: RateDecision; next?: GcraState } {
  const nowUs = Math.round(now * 1000)
  const interval = intervalOf(limit, windowMs)
  const allowance = interval * limit
  const seen = stored && { tat: clampedTat(stored, nowUs, windowMs), limit: stored.limit }
  let tat = nowUs
  if (seen && seen.tat > nowUs) {
    // The limit changed since (a key's rpm_limit edited): the requests counted stay counted, each now one new
    // interval — 2 of 2 used, raised to 100, is 2 of 100 (not 100 of 100 for a minute); 50 of 100 used,
    // lowered to 10, is 10 of 10 (not 5).
    tat = seen.limit === limit
      ? seen.tat
      : nowUs + Math.min(Math.ceil(((seen.tat - nowUs) * interval) / intervalOf(seen.limit, windowMs)), allowance)
  }
  const next = tat + interval
  if (next - nowUs > allowance) {
    return {
      decision: {
        allowed: false, limit, remaining: 0,
        reset: Math.ceil(tat / 1e6),
        retryAfter: Math.max(1, Math.ceil((next - nowUs - allowance) / 1e6)),
      },
      next: seen && seen.tat !== stored!.tat ? seen : undefined,
    }
  }
  return {
    decision: {
      allowed: true, limit,
      remaining: Math.floor((allowance - (next - nowUs)) / interval),
      reset: Math.ceil(next / 1e6),
      retryAfter: 0,
    },
    next: { tat: next, limit },
  }
}

const DEFAULT_MAX_ENTRIES = 100_000

export class GcraLimiter implements RateLimiter {
  private readonly clients = new Map<string, GcraState>()
  private readonly eviction = new OldestFirstEviction(this.clients)
  private readonly sweeper: Timer

  constructor(private readonly windowMs = 60_000, private readonly maxEntries = DEFAULT_MAX_ENTRIES) {
    // Idle clients are forgotten: an entry whose arrival time has passed holds no information.
    this.sweeper = setInterval(() => this.sweep(Date.now()), windowMs)
    this.sweeper.unref()
  }

  hit(id: string, limit: number, now = Date.now()): RateDecision {
    const stored = this.clients.get(id)
    const { decision, next } = gcraStep(stored, now, limit, this.windowMs)
    if (next === undefined) return decision
    if (stored === undefined && this.clients.size >= this.maxEntries) this.eviction.evictOldest()
    this.clients.set(id, next)
    return decision
  }

  get size(): number {
    return this.clients.size
  }

  sweep(now: number): void {
    const nowUs = now * 1000
    for (const [id, state] of this.clients) {
      if (state.tat <= nowUs) this.clients.delete(id)
      // One stored before the clock stepped back, clamped as a request would take it: forgotten within a window, not the step.
      else state.tat = clampedTat(state, nowUs, this.windowMs)
    }
  }

  stop(): void {
    clearInterval(this.sweeper)
  }
}
