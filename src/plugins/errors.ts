import { DrizzleQueryError } from 'drizzle-orm'
import { Elysia } from 'elysia'
import { isBusy } from '../db/busy'
import { isReadOnly } from '../db/read-only'
import { badRequest, databaseBusy, databaseFull, databaseUnavailable, errorResponse, GatewayError, internalError, notFound, refusedBy, wireFormatOf } from '../http/errors'
import { lockTimedOut, sqlStateOf } from '../store/postgres/batch'
import { isConflict, isDiskFull, isLoginRefused, isUnavailable } from '../store/postgres/errors'
import { peekRequestState } from '../http/request-state'
import type { Services } from '../services'
import { pathOf } from './request-context'

/** SQLSTATE character_not_in_repertoire and untranslatable_character: what a NUL in a query parameter or in JSON text draws. */
const UNSTORABLE_TEXT = new Set(['22021', '22P05'])

interface ValidationIssue {
  path?: string | Array<string | number>
  message?: string
}

/** A field as OpenAI's `param` writes it: indices in brackets (`messages[0].content`). */
const asParam = (segments: string[]): string =>
  segments.reduce((param, s) => (/^\d+$/.test(s) ? `${param}[${s}]` : param ? `${param}.${s}` : s), '')

/**
 * A 400 that names the field and says what is wrong with it, the field also as OpenAI's `param`; never repeats
 * the value, which may be a secret.
 */
function validationRefusal(error: unknown): GatewayError {
  const e = error as { type?: string; all?: ValidationIssue[]; valueError?: ValidationIssue }
  // The issue Elysia threw with: its `all` validates the whole body again, every issue of it.
  const first = e.valueError
  const where = e.type === 'query' ? 'query' : e.type === 'params' ? 'path parameter' : 'body'
  if (!first) return badRequest(`Invalid ${where}.`, 'invalid_request')
  const raw = Array.isArray(first.path) ? first.path.join('.') : (first.path ?? '')
  // Elysia names the object itself `root` (an unknown key's issue, say): that is no field.
  const field = raw === 'root' ? '' : raw.replace(/^\//, '').replaceAll('/', '.')
  const reason = (first.message ?? 'is invalid').replace(/^Invalid input: /, '')
  if (!field) return badRequest(`Invalid ${where}: ${reason}`, 'invalid_request')
  const refusal = badRequest(`Invalid ${where}: ${field}: ${reason}`, 'invalid_request')
  refusal.param = asParam(field.split('.'))
  return refusal
}

export function toGatewayError(code: string | number, error: unknown, log: Services['logger']): GatewayError {
  // drizzle wraps what the driver threw (the admin routes' queries) in an error of its own: the driver's says what happened.
  const cause = error instanceof DrizzleQueryError ? error.cause : error
  if (cause instanceof GatewayError) return cause
  // Elysia wraps whatever a parse hook throws (our 413 for an oversized chunked body) as its cause.
  if (code === 'PARSE' && (error as { cause?: unknown })?.cause instanceof GatewayError) return (error as { cause: GatewayError }).cause
  // Another process held the write lock past the busy timeout (a reservation's commit, usually): nothing
  // was written, and the request may simply be sent again.
  if (isBusy(cause) || isConflict(cause)) return databaseBusy()
  // Postgres likewise, past a write's bounded lock wait (55P03: the stored ids a Responses lookup writes first,
  // while something holds their table).
  if (lockTimedOut(cause)) return databaseBusy()
  // Text Postgres cannot hold or read (a NUL: 22021, 22P05) that an edge check let through: the request's fault.
  if (UNSTORABLE_TEXT.has(sqlStateOf(cause))) return badRequest('Invalid request: a value holds a NUL character, which cannot be stored or matched.', 'invalid_request')
  // Postgres is down, out of reach, out of connections or taking no writes: no hold could be taken, so the
  // provider was not called. A refused login lasts until the operator sets it again, who must hear of it.
  if (isUnavailable(cause)) {
    if (isLoginRefused(cause)) log.log('error', "the database refuses the gateway's login: requests are refused until it is set again", {})
    return databaseUnavailable()
  }
  // SQLite takes no writes, as a Postgres standby takes none: no hold could be written. Unlike a failover, nothing
  // ends it but the operator, who must hear of it.
  if (isReadOnly(cause)) {
    log.log('error', 'the database takes no writes: requests are refused until it does', {})
    return databaseUnavailable()
  }
  // The database's disk is full (SQLite's file's, Postgres's): no hold could be written either. The operator must hear
  // of it: of SQLite's, from its write queue, once an outage (every request meanwhile fails the same way).
  if ((cause as { code?: unknown })?.code === 'SQLITE_FULL') return databaseFull()
  if (isDiskFull(cause)) {
    log.log('error', 'the database disk is full: requests are refused until it has room', {})
    return databaseFull()
  }
  switch (code) {
    case 'VALIDATION': return validationRefusal(error)
    case 'PARSE': return badRequest('Malformed request body: it does not parse as its Content-Type says (JSON or multipart form).', 'invalid_json')
    case 'NOT_FOUND': return notFound('Unknown route.')
    case 'INVALID_COOKIE_SIGNATURE': return badRequest('Invalid cookie.')
  }
  log.log('error', 'unhandled error', { error: error instanceof Error ? (error.stack ?? error.message) : String(error) })
  return internalError()
}

/**
 * Every failure leaves here as a real Response in the route's own error shape, carrying the headers the
 * edge plugins set (security headers, request id, rate-limit state). Elysia's after-response hook cannot
 * see an error's status, so it is noted on the request state for the request log.
 */
export const errors = ({ metrics, logger, refusals }: Pick<Services, 'metrics' | 'logger' | 'refusals'>) =>
  new Elysia({ name: 'errors' }).onError({ as: 'global' }, ({ code, error, request, set }) => {
    const failure = toGatewayError(code, error, logger)
    const state = peekRequestState(request)
    if (state) state.status = failure.status
    const refuser = refusedBy(failure)
    if (refuser === 'gateway') metrics.refusals.inc({ code: failure.code })
    else if (refuser === 'provider') metrics.upstreamRefusals.inc({ code: failure.code })
    if (failure.status === 402 || failure.status === 403 || failure.status === 429) refusals.refused(failure.code)
    if (failure.forOperator) logger.log('warn', 'upstream provider refused the gateway credentials', { request_id: state?.id, ...failure.forOperator })
    return errorResponse(failure, wireFormatOf(state?.path ?? pathOf(request.url)), set.headers as Record<string, string>)
  })
