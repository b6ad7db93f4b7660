import { GcraLimiter, gcraStep, type RateDecision, type RateLimiter } from '../http/gcra'
import { GatewayError } from '../http/errors'
import { isOutage, type RedisLink } from './link'

/**
 * The step of src/http/gcra.ts, taken atomically in Redis on Redis's clock (every replica sees one time), in
 * the same whole microseconds with the same operations on doubles, so both reach the same numbers. It stores
 * the new state (`tat:limit`) only when the request is allowed, and returns what it saw — the time, and the
 * arrival time and limit before this request, as integer text — so that the gateway recomputes the very same
 * decision with `gcraStep` for the headers. The two mirror each other rule for rule (a state stored before the
 * clock stepped back is clamped to its limit's allowance in both): a change to one is made to the other.
 * A key of another type (another application's, a name collision) is taken as absent, and overwritten: left
 * alone it would fail this client's every request with WRONGTYPE.
 * KEYS[1]: the client's key; ARGV[1]: limit; ARGV[2]: window in ms.
 */
const GCRA_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local window = tonumber(ARGV[2]) * 1000
local limit = tonumber(ARGV[1])
local interval = math.ceil(window / limit)
local allowance = interval * limit
local stored, was
local raw = redis.pcall('GET', KEYS[1])
if type(raw) == 'table' and raw.err then raw = false end
if raw then
  local a, b = string.match(raw, '^(%d+):(%d+)$')
  if a then stored, was = tonumber(a), tonumber(b) end
end
-- Stored before the clock stepped back (further ahead than its limit's whole allowance): taken as that allowance
-- used, and kept so even if this request is refused, as gcraStep does.
if stored and stored - now > math.ceil(window / was) * was then
  stored = now + math.ceil(window / was) * was
  redis.call('SET', KEYS[1], string.format('%.0f:%.0f', stored, was), 'PX', math.ceil((stored - now) / 1000) + 1000)
end
local tat = now
if stored and stored > now then
  tat = stored
  if was ~= limit then
    tat = now + math.min(math.ceil(((stored - now) * interval) / math.ceil(window / was)), allowance)
  end
end
local nxt = tat + interval
if nxt - now <= allowance then
  redis.call('SET', KEYS[1], string.format('%.0f:%.0f', nxt, limit), 'PX', math.ceil((nxt - now) / 1000) + 1000)
end
if not stored then return {string.format('%.0f', now), false, false} end
return {string.format('%.0f', now), string.format('%.0f', stored), string.format('%.0f', was)}
`
const GCRA_SHA = new Bun.CryptoHasher('sha1').update(GCRA_SCRIPT).digest('hex')
/**
 * Numbered by what the script stores (3: `tat:limit` in µs; 2: the arrival time alone in µs; before, in ms): during a rolling upgrade, replicas
 * of two versions count apart, each allowing the limit, rather than misreading each other's values.
 */
const KEY_PREFIX = 'tollgate:rate:3:'

/** The limits counted in Redis, each on keys of its own (`tollgate:rate:3:<scope>:<client>`). */
const RATE_LIMIT_SCOPES = ['ip', 'key', 'sign-in'] as const
type RateLimitScope = (typeof RATE_LIMIT_SCOPES)[number]

/**
 * What the link runs while Redis is down to learn that it is back: the script itself, in each scope on a key of
 * its own and under a limit it never reaches (so that it writes each time). Redis is up when every rate limit can
 * be counted: a primary demoted by a failover, a user without the script's rights, or one whose ACL grants some
 * scopes' keys and not the others', answers PING but not this.
 */
export const RATE_LIMIT_PROBE = RATE_LIMIT_SCOPES.map((scope): [string, string[]] => ['EVAL', [GCRA_SCRIPT, '1', `${KEY_PREFIX}${scope}:probe`, '1000000', '60000']])

type RedisFailureMode = 'open' | 'closed'

const rateLimiterUnavailable = () =>
  new GatewayError(503, 'rate_limiter_unavailable', 'The shared rate limiter (Redis) is unreachable or refuses writes; try again shortly.', 'api_error', {
    'retry-after': '1',
  })

/**
 * Rate limits shared by every replica through Redis. When Redis does not answer (or refuses writes), the failure mode decides:
 * `open` counts in this process alone (as without Redis: the gateway keeps serving, each replica allowing
 * the full limit), `closed` refuses with 503. Money never depends on this: holds live in the database.
 */
export class SharedRateLimiter implements RateLimiter {
  private readonly local: GcraLimiter
  /** Decisions taken without Redis, for /metrics. */
  degraded = 0

  constructor(
    private readonly link: RedisLink,
    /** Namespaces one limit's clients; the link's probe counts in each. */
    private readonly scope: RateLimitScope,
    private readonly failure: RedisFailureMode,
    private readonly windowMs = 60_000,
  ) {
    this.local = new GcraLimiter(windowMs)
  }

  async hit(id: string, limit: number): Promise<RateDecision> {
    if (!this.link.up) return this.withoutRedis(id, limit)
    try {
      const [now, tat, was] = await this.evaluate(`${KEY_PREFIX}${this.scope}:${id}`, limit)
      const stored = tat === null || was === null ? undefined : { tat: Number(tat), limit: Number(was) }
      return gcraStep(stored, Number(now) / 1000, limit, this.windowMs).decision
    } catch (error) {
      // The link has logged the outage, or the answer Redis gave: one that is not an outage is Redis serving, but
      // not this count (an error in the script's own run); this process counts that client alone, never refuses it.
      if (isOutage(error)) return this.withoutRedis(id, limit)
      this.degraded++
      return this.local.hit(id, limit)
    }
  }

  stop(): void {
    this.local.stop()
  }

  /** Redis down: the failure mode decides. */
  private withoutRedis(id: string, limit: number): RateDecision {
    this.degraded++
    if (this.failure === 'closed') throw rateLimiterUnavailable()
    return this.local.hit(id, limit)
  }

  private async evaluate(key: string, limit: number): Promise<[string, string | null, string | null]> {
    const args = [key, String(limit), String(this.windowMs)]
    try {
      return await this.link.send('EVALSHA', [GCRA_SHA, '1', ...args])
    } catch (error) {
      // A Redis restarted (or flushed) has forgotten the script: send it once in full.
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error
      return await this.link.send('EVAL', [GCRA_SCRIPT, '1', ...args])
    }
  }
}
