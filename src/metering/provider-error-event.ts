import { redact } from '../providers/upstream'
import { formatSse, type SseEvent } from '../translate/sse'

/**
 * Every string of a JSON value, keys included, with whatever might identify a credential cut out. A
 * provider's error event may echo the request anywhere (`message`, `param`, `code`, an `error` nested in
 * an `error`), so none of it is trusted; walking the parsed value, not the raw text, also finds a secret
 * the provider wrote with JSON escapes.
 */
function redactStrings(value: unknown, secrets: readonly string[]): unknown {
  if (typeof value === 'string') return redact(value, secrets)
  if (Array.isArray(value)) return value.map((v) => redactStrings(v, secrets))
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [redact(k, secrets), redactStrings(v, secrets)]))
  return value
}

/**
 * A provider's error event as the client gets it: re-serialised under its own name with `redactStrings`
 * applied (SPEC §3: provider error text is never forwarded with credentials). The translators read the
 * metered stream, so a translated stream's error carries the redacted text too. Only error events come
 * here; every other event passes as it came.
 */
export const redactedErrorEvent = (sse: SseEvent, event: object, secrets?: () => readonly string[]): string =>
  formatSse(redactStrings(event, secrets?.() ?? []), sse.event ?? undefined)
