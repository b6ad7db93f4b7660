import { Elysia } from 'elysia'
import { requestState } from '../http/request-state'

const API_POLICY = "default-src 'none'; frame-ancestors 'none'"
/**
 * What Swagger UI needs, from our own origin only: its bundle and our init script, its stylesheet
 * (it also sets inline styles), its inlined SVG images, and fetches of the spec and "try it out".
 */
const DOCS_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
  "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

/** The console: its own script, stylesheet and API only; uPlot and Preact set styles through the DOM, not markup. */
const UI_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

export function isHttps(request: Request, trustProxy: boolean): boolean {
  if (request.url.startsWith('https:')) return true
  return trustProxy && request.headers.get('x-forwarded-proto')?.split(',', 1)[0]?.trim().toLowerCase() === 'https'
}

/** An API answer's headers (HSTS aside, which depends on the request). */
export const API_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'strict-origin-when-cross-origin',
  'content-security-policy': API_POLICY,
}

/**
 * Set in onRequest, before anything can fail, so errors, 404s, 429s and streams carry them too.
 * Registered before CORS so that preflight answers get them as well.
 *
 * Every `/v1/*` answer is also `Cache-Control: no-store` (a streamed answer too): the admin
 * API's lists, a new key's secret, a caller's own usage. A console request carries its session in a
 * cookie, not in `Authorization`, so without it a shared cache in front of the gateway could keep those
 * answers and give them to anyone asking the same URL. Kept when the security headers are turned off.
 */
export const securityHeaders = (options: { enabled: boolean; trustProxy: boolean }) =>
  new Elysia({ name: 'security-headers', seed: options }).onRequest(({ request, set }) => {
    const h = set.headers
    const path = requestState(request).path
    if (path.startsWith('/v1/')) h['cache-control'] = 'no-store'
    if (!options.enabled) return
    Object.assign(h, API_SECURITY_HEADERS)
    h['content-security-policy'] =
      path === '/docs' || path.startsWith('/docs/') ? DOCS_POLICY : path === '/ui' || path.startsWith('/ui/') ? UI_POLICY : API_POLICY
    if (isHttps(request, options.trustProxy)) h['strict-transport-security'] = 'max-age=31536000; includeSubDomains'
  })
