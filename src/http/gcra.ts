/**
 * Generic cell rate algorithm: "at most `limit` requests per `windowMs`", with bursts up to `limit`.
 * Each client costs two numbers (its theoretical arrival time and the limit it was counted under), so memory
 * stays small, and the remaining count and reset time fall out exactly for the X-RateLimit-* headers.
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
  /** Ends its upkeep (the idle clients' sweep): called when the gateway stops. */
  stop(): void
}

/** What is kept of a client. */
export interface GcraState {
  /** Theoretical arrival time, µs since 1970: the allowance is whole again then. */
  tat: number
  /** The limit `tat` was counted under. */
  limit: number
}

const intervalOf = (limit: number, windowMs: number) => Math.ceil((windowMs * 1000) / limit)

/**
 * A state is never stored further ahead of its time than its limit's whole allowance; one that lies further ahead
 * of `now` was stored before the clock stepped back (an NTP correction, a VM resumed, Redis failed over to a host
 * whose clock is behind). Counted, it would refuse the client for the size of the step: it is dropped instead,
 * the client starting afresh. GCRA_SCRIPT (src/redis/rate-limiter.ts) mirrors this rule.
 */
const storedBeforeClockStepBack = (stored: GcraState, nowUs: number, windowMs: number) =>
  stored.tat - nowUs > intervalOf(stored.limit, windowMs) * stored.limit

/**
 * One step of the algorithm: the decision for a request at `now` (ms) given the client's stored state
 * (undefined: none), and the state to store when it is allowed. GCRA_SCRIPT (src/redis/rate-limiter.ts)
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
  let tat = nowUs
  if (stored !== undefined && stored.tat > nowUs && !storedBeforeClockStepBack(stored, nowUs, windowMs)) {
    // The limit changed since (a key's rpm_limit edited): the requests counted stay counted, each now one new
    // interval — 2 of 2 used, raised to 100, is 2 of 100 (not 100 of 100 for a minute); 50 of 100 used,
    // lowered to 10, is 10 of 10 (not 5).
    tat = stored.limit === limit
      ? stored.tat
      : nowUs + Math.min(Math.ceil(((stored.tat - nowUs) * interval) / intervalOf(stored.limit, windowMs)), allowance)
  }
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
    next: { tat: next, limit },
  }
}

const DEFAULT_MAX_ENTRIES = 100_000

export class GcraLimiter implements RateLimiter {
  private readonly clients = new Map<string, GcraState>()
  private readonly sweeper: Timer

  constructor(private readonly windowMs = 60_000, private readonly maxEntries = DEFAULT_MAX_ENTRIES) {
    // Idle clients are forgotten: an entry whose arrival time has passed holds no information, nor does one
    // stored before the clock stepped back (the next request would drop it).
    this.sweeper = setInterval(() => this.sweep(Date.now()), windowMs)
    this.sweeper.unref()
  }

  hit(id: string, limit: number, now = Date.now()): RateDecision {
    const stored = this.clients.get(id)
    const { decision, next } = gcraStep(stored, now, limit, this.windowMs)
    if (next === undefined) return decision
    if (stored === undefined && this.clients.size >= this.maxEntries) this.clients.delete(this.clients.keys().next().value!)
    this.clients.set(id, next)
    return decision
  }

  get size(): number {
    return this.clients.size
  }

  sweep(now: number): void {
    const nowUs = now * 1000
    for (const [id, state] of this.clients)
      if (state.tat <= nowUs || storedBeforeClockStepBack(state, nowUs, this.windowMs)) this.clients.delete(id)
  }

  stop(): void {
    clearInterval(this.sweeper)
  }
}
