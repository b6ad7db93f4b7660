import { openapi } from '@elysiajs/openapi'
import { Elysia } from 'elysia'
import { dirname, join } from 'node:path'
import { CSRF_HEADER, HOST_SESSION_COOKIE, SESSION_COOKIE } from '../console/session-auth'
import { notFound } from '../http/errors'
import { ERROR_SCHEMAS } from './billed-call-refusals'

const SWAGGER_DIST = dirname(Bun.resolveSync('swagger-ui-dist/package.json', import.meta.dir))
// A Map, not an object literal: a name such as `constructor` must be unknown, not Object.prototype's.
const ASSETS = new Map([
  ['swagger-ui.css', 'text/css; charset=utf-8'],
  ['swagger-ui-bundle.js', 'text/javascript; charset=utf-8'],
  ['favicon-32x32.png', 'image/png'],
])

// Our own page and init script: no inline script, so the /docs CSP can stay at script-src 'self'.
const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>tollgate API</title>
  <link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png">
  <link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/assets/swagger-ui-bundle.js"></script>
  <script src="/docs/assets/init.js"></script>
</body>
</html>`
const INIT = `window.ui = SwaggerUIBundle({ url: '/docs/json', dom_id: '#swagger-ui', deepLinking: true, persistAuthorization: false });`

/**
 * /docs: Swagger UI with every asset served from here (self-hosted installs are often offline), reading
 * the OpenAPI document generated from the same schemas that validate requests.
 */
export const docsRoutes = () =>
  new Elysia({ name: 'docs' })
    .use(
      openapi({
        path: '/docs',
        specPath: '/docs/json',
        provider: null,
        exclude: { paths: ['/docs', '/docs/assets/:file'] },
        documentation: {
          info: {
            title: 'tollgate',
            version: '0.1.0',
            description:
              'Self-hosted LLM gateway. Inference routes take any virtual key; administration routes take the master key only. ' +
              'An inference body with a key out of lowercase where the API\'s fields are read (the top level; each message, input item, ' +
              'tool, system block, content part or block, tool call and tool output) is refused with 400 `case_variant_key` before any ' +
              'hold: a server that reads keys ignoring case (Go\'s encoding/json, as Ollama\'s) would take `Model` for `model`. ' +
              'With `redis_failure: closed`, while Redis cannot be reached, a request a shared rate limit counts (a key with an `rpm_limit`, a console sign-in; ' +
              'any route but /health and /metrics under `rate_limit_per_min`) is refused with 503 `rate_limiter_unavailable` and `Retry-After: 1`.',
          },
          components: {
            schemas: ERROR_SCHEMAS,
            securitySchemes: {
              bearer: { type: 'http', scheme: 'bearer', description: 'A virtual key (tg-…) or the master key, as each route says: administration takes the master key only, /v1/key a virtual key only' },
              apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key', description: 'The same key, as Anthropic SDKs send it' },
              // The console's credential, which only the routes that say so take (the admin API and /v1/key take it beside a key).
              session: {
                type: 'apiKey',
                in: 'cookie',
                name: SESSION_COOKIE,
                description: `The console session cookie that POST /v1/session sets (named \`${HOST_SESSION_COOKIE}\` over HTTPS)`,
              },
              csrf: {
                type: 'apiKey',
                in: 'header',
                name: CSRF_HEADER,
                description: "The session's `csrf_token` (from POST or GET /v1/session), sent with this site's Origin on every change made with a session",
              },
            },
          },
          security: [{ bearer: [] }, { apiKey: [] }],
        },
      }),
    )
    .get('/docs', () => new Response(PAGE, { headers: { 'content-type': 'text/html; charset=utf-8' } }), { detail: { hide: true } })
    .get(
      '/docs/assets/:file',
      ({ params }) => {
        if (params.file === 'init.js') return new Response(INIT, { headers: { 'content-type': 'text/javascript; charset=utf-8' } })
        const type = ASSETS.get(params.file)
        if (!type) throw notFound('Unknown asset.')
        return new Response(Bun.file(join(SWAGGER_DIST, params.file)), {
          headers: { 'content-type': type, 'cache-control': 'public, max-age=86400' },
        })
      },
      { detail: { hide: true } },
    )
