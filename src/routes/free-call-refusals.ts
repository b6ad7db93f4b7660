import { FREE_CALLS_PER_KEY } from '../providers/free-call-slots'

/**
 * The two refusals of a call that holds nothing (a token count, a stored response read, deleted or cancelled), as
 * its OpenAPI description tells them: a client generated from /docs must retry both.
 */
export const FREE_CALL_REFUSALS =
  "Free calls share a limit of their own: past the clients' share of it, 503 `upstream_busy`; " +
  `past ${FREE_CALLS_PER_KEY} in flight for one key, 429 \`rate_limit_exceeded\`; both with \`Retry-After: 1\`.`
