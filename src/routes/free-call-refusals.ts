import { FREE_CALLS_PER_KEY } from '../providers/free-call-slots'

/**
 * The refusals of a call that holds nothing (a token count, a stored response read, deleted or cancelled) that a
 * client must retry, as its OpenAPI description tells them.
 */
export const FREE_CALL_REFUSALS =
  "Free calls share a limit of their own: past the clients' share of it, 503 `upstream_busy`; " +
  `past ${FREE_CALLS_PER_KEY} in flight for one key, 429 \`rate_limit_exceeded\`; ` +
  'with the shared rate limiter (Redis) out of reach (or refusing writes) and `redis_failure` `closed`, 503 `rate_limiter_unavailable`; all with `Retry-After: 1`.'
