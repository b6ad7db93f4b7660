/**
 * A provider's word on when to call it again, as the gateway passes it on: `Retry-After` (seconds, or an HTTP
 * date) and `retry-after-ms` (OpenAI's and Anthropic's, which their SDKs read first). Each is passed on only as a
 * number the gateway wrote itself, never as the provider's text, and at most a day.
 */

const MAX_WAIT_MS = 24 * 60 * 60 * 1000

/** `Retry-After` as delay-seconds; a fraction (not in RFC 9110, but the SDKs read one) is rounded up. */
const SECONDS = /^\d{1,12}(?:\.\d{1,9})?$/
/** `Retry-After` as an HTTP date, in the one form a sender must write it (IMF-fixdate, RFC 9110 §5.6.7). */
const HTTP_DATE = /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/

const bounded = (ms: number): number => Math.min(Math.max(ms, 0), MAX_WAIT_MS)

/** The wait `Retry-After` asks for, in ms, or null when it is neither a number of seconds nor an HTTP date. */
function retryAfterMs(value: string | null, now: number): number | null {
  if (value === null) return null
  if (SECONDS.test(value)) return bounded(Number(value) * 1000)
  if (!HTTP_DATE.test(value)) return null
  const at = Date.parse(value)
  return Number.isNaN(at) ? null : bounded(at - now)
}

/**
 * The provider's `Retry-After` and `retry-after-ms`, each that reads as a wait, as the gateway's own headers: a
 * date as the seconds left until it (a date past is 0), every value rounded up to a whole second or millisecond
 * and at most a day. Undefined when the provider said neither.
 */
export function retryAfterHeaders(headers: Headers, now = Date.now()): Record<string, string> | undefined {
  const passed: Record<string, string> = {}
  const ms = headers.get('retry-after-ms')
  if (ms !== null && SECONDS.test(ms)) passed['retry-after-ms'] = String(Math.ceil(bounded(Number(ms))))
  const wait = retryAfterMs(headers.get('retry-after'), now)
  if (wait !== null) passed['retry-after'] = String(Math.ceil(wait / 1000))
  return Object.keys(passed).length > 0 ? passed : undefined
}
