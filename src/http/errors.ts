/**
 * Every refusal the gateway makes is one of these. The class carries the HTTP status and the
 * error code; `renderError` turns it into the wire format of the route that raised it.
 */
export class GatewayError extends Error {
  /** What the operator's log is told besides the status and code, never the client (see `providerRefusedCredentials`). */
  forOperator?: Record<string, string>
  /** Anthropic's `error.details`: a machine-readable cause its SDK branches on (`error_code`). */
  details?: Record<string, unknown>
  /** Anthropic's error type where the status does not tell it: a provider's `overloaded_error`, kept (`upstreamFailure`). */
  anthropicType?: string
  /** Whether a retry may help, where the status does not tell it (`shouldRetry`): a provider's 429 for an account out of credits. */
  retryable?: boolean
  /** OpenAI's `error.param`: the request field at fault, where the refusal knows it (a validation failure's). */
  param?: string

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** OpenAI's `type` field; Anthropic's error type is derived from the status. */
    readonly type: string = 'invalid_request_error',
    readonly headers?: Record<string, string>,
  ) {
    super(message)
  }
}

export const badRequest = (message: string, code = 'invalid_request') => new GatewayError(400, code, message)
/**
 * A 400 refusing a request's `thread`, with the `error.details` Anthropic gives a request it cannot thread: on
 * it the Anthropic SDK's threads (its tool runner's by default) stop threading and send the whole conversation
 * instead (ThreadState.recoversFrom, `unsupportedRequestBehavior: 'continue_unthreaded'`).
 */
export function threadRefused(message: string, code: string): GatewayError {
  const error = badRequest(message, code)
  error.details = { error_code: 'thread_unsupported_request' }
  return error
}
export const unauthorized = (message = 'Missing, unknown, expired or revoked API key.') =>
  new GatewayError(401, 'invalid_api_key', message, 'authentication_error')
export const paymentRequired = (code: 'pricing_required' | 'budget_exceeded', message: string) =>
  new GatewayError(402, code, message, 'insufficient_quota')
/**
 * A 402 only because requests in flight hold the budget (`budgetExceeded`): once they settle it may fit, so the SDKs
 * are told to retry, after a second, where every other 402 tells them not to.
 */
export function budgetHeldInFlight(message: string): GatewayError {
  const error = new GatewayError(402, 'budget_exceeded', message, 'insufficient_quota', { 'retry-after': '1' })
  error.retryable = true
  return error
}
/** Every code the gateway refuses with 403: the refusal record charts these, and only these, as 403s (src/records/refusals.ts). */
export const FORBIDDEN_CODES = [
  'admin_only', 'model_not_allowed', 'user_mismatch', 'user_blocked', 'origin_not_allowed', 'origin_mismatch', 'csrf_failed', 'read_only_session',
] as const
type ForbiddenCode = (typeof FORBIDDEN_CODES)[number]
export const forbidden = (code: ForbiddenCode, message: string) => new GatewayError(403, code, message, 'permission_error')
export const notFound = (message: string, code = 'not_found') => new GatewayError(404, code, message, 'not_found_error')
export const conflict = (message: string) => new GatewayError(409, 'conflict', message)
export const payloadTooLarge = (limit: number) =>
  new GatewayError(413, 'body_too_large', `Request body is larger than ${limit} bytes.`)
/**
 * A request body that stopped arriving, or came too slowly (src/http/body-read.ts). The connection is closed with
 * the answer, since what is left of the body will never be read.
 */
export const requestTimeout = (message: string) =>
  new GatewayError(408, 'request_timeout', message, 'invalid_request_error', { connection: 'close' })
/**
 * Bodies being read, or in flight, already hold the process's bound for them, or the caller's share of it (src/http/body-budget.ts).
 * Nothing was held or sent on, so a retry is safe; the connection is closed with the answer, since what is left of the
 * body will never be read (a body refused at its admission's count has come whole, and is closed the same).
 * Retry-After is long enough for bodies read at an ordinary pace to have come in (25 MB at 50 Mbit/s: 4 s).
 */
export const bodyReadBusy = (message: string) =>
  new GatewayError(503, 'body_read_busy', message, 'api_error', {
    'retry-after': '5',
    connection: 'close',
  })
export const rateLimited = (retryAfterSec: number, message = 'Rate limit exceeded.') =>
  new GatewayError(429, 'rate_limit_exceeded', message, 'rate_limit_error', { 'retry-after': String(retryAfterSec) })
export const badGateway = (message: string, headers?: Record<string, string>) => new GatewayError(502, 'upstream_error', message, 'api_error', headers)
/**
 * A provider's 401, 403 or 407: it refused the gateway's own credentials, which the caller can do nothing
 * about. Its text is the operator's alone, and may quote the key it refused (OpenAI's `Incorrect API key
 * provided: sk-Qw3rT****…9xZq`, a mask no pattern tells from prose), so the client gets a fixed sentence and
 * the provider's summary goes to the log.
 */
export function providerRefusedCredentials(status: number, upstream: string, summary: string): GatewayError {
  const error = badGateway(
    `Upstream provider answered ${status}: it refused the gateway's credentials. The gateway's operator must check this provider's api_key (the provider's message is in the gateway's log).`,
  )
  error.forOperator = { upstream, detail: summary }
  return error
}
/** A provider's 429: it rate-limits the gateway's account (or it is out of credits), which the caller is told as a 429. */
export const upstreamRateLimited = (message: string, headers?: Record<string, string>) =>
  new GatewayError(429, 'upstream_rate_limited', message, 'rate_limit_error', headers)
/** Any other 4xx of a provider's, its status kept: the caller's request is what the provider refused. */
export const upstreamRejected = (status: number, message: string) => new GatewayError(status, 'upstream_rejected', message)
/** The codes of a provider's own refusals passed on with their status: the provider refused, not the gateway. */
export const PROVIDER_REFUSAL_CODES: readonly string[] = ['upstream_rate_limited', 'upstream_rejected']
/** The client went away before its answer (nginx's 499): nobody refused anything, and nobody reads it. */
export const clientClosedRequest = () => new GatewayError(499, 'client_closed_request', 'The client closed the request.')

/**
 * Who refused the request this error answers: the gateway (a 4xx of its own: a budget, a price, a key, a limit, a
 * malformed body), the provider (its 4xx passed on), or nobody: the client left (499), or something failed (5xx).
 */
export function refusedBy(error: GatewayError): 'gateway' | 'provider' | null {
  if (error.status >= 500 || error.status === 499) return null
  return PROVIDER_REFUSAL_CODES.includes(error.code) ? 'provider' : 'gateway'
}
export const gatewayTimeout = (message: string) => new GatewayError(504, 'upstream_timeout', message, 'api_error')
/** A request refused because the gateway is stopping before anything was sent or paid (see Ledger.cutCalls); another replica may take the retry. */
export const gatewayStopping = () =>
  new GatewayError(503, 'gateway_stopping', 'The gateway is stopping and cut this request.', 'api_error', { 'retry-after': '1' })
/** A provider call the gateway's stop cut once it was sent, and charged: no Retry-After, as for any paid error (`paidFailure`). */
function paidCallStopped(): GatewayError {
  const error = new GatewayError(
    503,
    'gateway_stopping',
    'The gateway is stopping and cut this request after sending it to the provider; it is charged, so it is not retried for you.',
    'api_error',
  )
  error.retryable = false
  return error
}

/**
 * The error for a call whose hold was charged though its client gets no answer (it broke off, would not parse, or
 * was cut by our timeout or stop): the provider may have made and billed it. The official SDKs retry a 5xx twice
 * unasked, each retry charged again, so this one says `x-should-retry: false`: a retry is the caller's choice.
 */
export function paidFailure(error: GatewayError): GatewayError {
  if (error.code === 'gateway_stopping') return paidCallStopped()
  error.retryable = false
  return error
}
export const internalError = () => new GatewayError(500, 'internal_error', 'The gateway failed to handle this request.', 'api_error')
export const upstreamBusy = (limit: number, calls = 'provider calls') =>
  new GatewayError(503, 'upstream_busy', `The gateway already has ${limit} ${calls} in flight; try again shortly.`, 'api_error', {
    'retry-after': '1',
  })
/**
 * The thread counting tokens for an OpenAI-compatible model (src/metering/tokenizer-thread.ts) failed to start or
 * ended: the count is refused rather than left waiting. The next count starts a new thread.
 */
export const tokenizerUnavailable = () =>
  new GatewayError(503, 'tokenizer_unavailable', "The gateway's token counter stopped (its thread failed to start or ended) before this count was answered; try again.", 'api_error', {
    'retry-after': '1',
  })
export const databaseBusy = () =>
  new GatewayError(503, 'database_busy', 'The database stayed locked by another process past the busy timeout; try again.', 'api_error', {
    'retry-after': '1',
  })

/**
 * The provider answered (and the request is paid), but the ids of its stored response could not be written where
 * every replica finds them within the database's deadline: the answer is withheld (src/records/response-owners.ts).
 * A paid error (`paidFailure`): no Retry-After, and `x-should-retry: false`, since each of an SDK's silent retries
 * would be paid again.
 */
export function storedIdsUnwritten(): GatewayError {
  const error = new GatewayError(
    503,
    'database_busy',
    'The provider answered and the request is charged, but the database did not take the ids in it (of a stored response, or of a container) in time (locked, or out of reach), so another replica would not find them: the answer is withheld. It is not retried for you, as a retry is charged again; you may try again yourself.',
    'api_error',
  )
  error.retryable = false
  return error
}

export const databaseFull = () =>
  new GatewayError(503, 'database_full', 'The database has no room left on its disk; nothing was charged and the provider was not called. Try again later.', 'api_error', {
    'retry-after': '60',
  })

/**
 * The Postgres store's line of report scans is full (src/store/postgres/records-scans.ts): the database answers, but
 * this replica holds no more reports waiting their turn. Not `database_unavailable`: nothing is wrong with the database.
 */
export const reportsBusy = (waiting: number) =>
  new GatewayError(503, 'reports_busy', `This replica already has ${waiting} reports waiting for their turn to read the database; try again shortly.`, 'api_error', {
    'retry-after': '1',
  })

/**
 * The database file was replaced (renamed over, removed) under the running gateway: what it writes would go into
 * the file it still has open, which no path names any more, and be lost. Nothing clears it but a restart.
 */
export const databaseFileReplaced = () =>
  new GatewayError(
    503,
    'database_unavailable',
    'The database file was replaced under the running gateway (a restore?), which must be restarted to use it; nothing was charged and the provider was not called.',
    'api_error',
    { 'retry-after': '60' },
  )

export const databaseUnavailable = () =>
  new GatewayError(503, 'database_unavailable', 'The database cannot be reached; nothing was charged and the provider was not called. Try again shortly.', 'api_error', {
    'retry-after': '1',
  })

/** Anthropic names its error types by status, not by cause. */
export function anthropicErrorType(status: number): string {
  switch (status) {
    case 400: case 404: case 409: case 413: return status === 413 ? 'request_too_large' : status === 404 ? 'not_found_error' : 'invalid_request_error'
    case 401: return 'authentication_error'
    case 402: return 'billing_error'
    case 403: return 'permission_error'
    case 429: return 'rate_limit_error'
    case 504: return 'timeout_error'
    default: return status >= 500 ? 'api_error' : 'invalid_request_error'
  }
}

export const WIRE_FORMATS = ['openai', 'anthropic'] as const
export type WireFormat = (typeof WIRE_FORMATS)[number]

/** Every `/v1/messages…` path (count_tokens, an unknown one too) speaks Anthropic's format; everything else OpenAI's. */
export const wireFormatOf = (path: string): WireFormat =>
  path === '/v1/messages' || path.startsWith('/v1/messages/') ? 'anthropic' : 'openai'

function errorBody(error: GatewayError, format: WireFormat): string {
  return JSON.stringify(
    format === 'anthropic'
      ? { type: 'error', error: { type: error.anthropicType ?? anthropicErrorType(error.status), message: error.message, ...(error.details && { details: error.details }) } }
      : { error: { message: error.message, type: error.type, code: error.code, param: error.param ?? null } },
  )
}

/**
 * `x-should-retry`, which the official SDKs (openai, @anthropic-ai/sdk) obey before their own rules by status:
 * `true` where a retry may be answered otherwise (a rate limit; a 503 that says when to come back), `false` for
 * a refusal the same request will get again (agents such as Codex otherwise resend a 402 several times), and
 * whatever the error itself says (`retryable`). A 408 or 409 (a provider's, kept) and other 5xx go without it: the SDKs' own rules retry them.
 */
function shouldRetry(error: GatewayError): 'true' | 'false' | null {
  if (error.retryable !== undefined) return error.retryable ? 'true' : 'false'
  if (error.status === 429 || (error.status === 503 && error.headers?.['retry-after'] !== undefined)) return 'true'
  if (error.status >= 400 && error.status < 500 && error.status !== 408 && error.status !== 409) return 'false'
  return null
}

export function errorResponse(error: GatewayError, format: WireFormat, headers: Record<string, string | number> = {}): Response {
  const h = new Headers()
  for (const [k, v] of Object.entries(headers)) h.set(k, String(v))
  if (error.headers) for (const [k, v] of Object.entries(error.headers)) h.set(k, v)
  const retry = shouldRetry(error)
  if (retry !== null) h.set('x-should-retry', retry)
  h.set('content-type', 'application/json')
  return new Response(errorBody(error, format), { status: error.status, headers: h })
}
