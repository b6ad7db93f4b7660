import { cors } from '@elysiajs/cors'
import { Elysia } from 'elysia'

const ALLOWED_HEADERS = ['authorization', 'x-api-key', 'content-type', 'anthropic-version', 'anthropic-beta', 'x-request-id']
const EXPOSED_HEADERS = [
  'x-request-id', 'x-budget-remaining', 'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset', 'retry-after',
]

/**
 * No CORS headers at all unless origins are configured. Then only those exact origins: matched against
 * a Set (the library's own string matching also accepts prototype names such as "constructor"), no
 * credentials (callers authenticate with a header, never a cookie), and only the methods and headers
 * the API uses.
 */
export function corsPolicy(allowedOrigins: readonly string[]) {
  if (allowedOrigins.length === 0) return new Elysia({ name: 'cors-off' })
  const allowed = new Set(allowedOrigins)
  return cors({
    origin: (request: Request) => allowed.has(request.headers.get('origin') ?? ''),
    methods: ['GET', 'POST', 'PATCH', 'DELETE', 'OPTIONS'],
    allowedHeaders: ALLOWED_HEADERS,
    exposeHeaders: EXPOSED_HEADERS,
    credentials: false,
    maxAge: 600,
  })
}
