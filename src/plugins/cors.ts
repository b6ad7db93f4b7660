import { Elysia } from 'elysia'
import { forbidden, notFound } from '../http/errors'
import { requestState } from '../http/request-state'

const ALLOWED_METHODS = 'GET, POST, PATCH, DELETE'
/**
 * The API's own request headers, and those the official SDKs send from a browser (`dangerouslyAllowBrowser`), and
 * the Vercel AI SDK's `user-agent` (a header a script sets is no safelisted one: Firefox asks its preflight for it):
 * a browser refuses the call unless its preflight allows every one. The gateway reads none of the SDKs' and
 * passes none of them on.
 */
const ALLOWED_HEADERS = [
  'authorization, x-api-key, content-type, anthropic-version, anthropic-beta, x-request-id',
  'x-stainless-arch, x-stainless-lang, x-stainless-os, x-stainless-package-version, x-stainless-retry-count',
  'x-stainless-runtime, x-stainless-runtime-version, x-stainless-timeout, x-stainless-helper, x-stainless-helper-method',
  'x-stainless-poll-helper, x-stainless-custom-poll-interval, anthropic-dangerous-direct-browser-access',
  'openai-organization, openai-project, idempotency-key, user-agent',
].join(', ')
const EXPOSED_HEADERS =
  'x-request-id, request-id, x-budget-remaining, x-output-clamped, x-ratelimit-limit, x-ratelimit-remaining, x-ratelimit-reset, retry-after, retry-after-ms, x-should-retry, x-tollgate-dropped-tools'

/** A browser's preflight: OPTIONS naming the method it is about to send. */
const isPreflight = (request: Request) =>
  request.method === 'OPTIONS' && request.headers.has('origin') && request.headers.has('access-control-request-method')

/**
 * No CORS headers at all unless origins are configured. Then only those exact origins, matched against a
 * Set (no prefix, suffix or prototype-name surprises), no credentials (callers authenticate with a header,
 * never a cookie), and only the methods and headers the API uses.
 *
 * Two steps, because a preflight is a request like any other: counted by the rate limiter, logged, given an
 * id. `corsHeaders` runs first of the edge, so that every answer to an allowed origin carries them, a 401,
 * 413 or 429 included (a browser app can read those only with them). `corsPreflight` runs after the rate
 * limiter and the body limit: it lets an allowed origin's preflight past authentication (browsers never send
 * credentials on one) to the route that answers it, and refuses a preflight from any other origin.
 */
export function corsHeaders(allowedOrigins: readonly string[]) {
  const allowed = new Set(allowedOrigins)
  const plugin = new Elysia({ name: 'cors-headers', seed: allowedOrigins })
  // Off (the default): no hook at all on the request path.
  if (allowed.size === 0) return plugin
  return plugin.onRequest(({ request, set }) => {
    // The answer depends on the Origin, whichever it was: caches must keep them apart.
    set.headers.vary = 'Origin'
    const origin = request.headers.get('origin')
    if (origin === null || !allowed.has(origin)) return
    set.headers['access-control-allow-origin'] = origin
    set.headers['access-control-expose-headers'] = EXPOSED_HEADERS
  })
}

/**
 * A preflight from an origin that is not configured gets a 403 in the error shape, without any CORS header
 * (so the browser refuses the call): it says plainly what is wrong to whoever reads the network log, and
 * it is no success in the request log or the metrics.
 */
export function corsPreflight(allowedOrigins: readonly string[]) {
  const allowed = new Set(allowedOrigins)
  const plugin = new Elysia({ name: 'cors-preflight', seed: allowedOrigins })
  if (allowed.size === 0) return plugin
  return plugin
    .onRequest(({ request }) => {
      if (!isPreflight(request)) return
      if (!allowed.has(request.headers.get('origin')!))
        throw forbidden('origin_not_allowed', 'This origin is not allowed to call the API from a browser.')
      requestState(request).preflight = true
    })
    .options('/*', ({ request, set }) => {
      // Any other OPTIONS was authenticated like every request, and finds no route here either.
      if (!requestState(request).preflight) throw notFound('Unknown route.')
      set.headers['access-control-allow-methods'] = ALLOWED_METHODS
      set.headers['access-control-allow-headers'] = ALLOWED_HEADERS
      set.headers['access-control-max-age'] = '600'
      return new Response(null, { status: 204 })
    }, { detail: { hide: true } })
}
