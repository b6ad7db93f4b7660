import { Elysia } from 'elysia'
import { notFound } from '../http/errors'
import { consoleBundle } from './bundle'

// No inline script or style: the /ui CSP allows only this origin's files.
const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>tollgate console</title>
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="/ui/assets/app.css">
  <script type="module" src="/ui/assets/app.js"></script>
</head>
<body>
  <div id="app"></div>
  <noscript>The tollgate console needs JavaScript; the same operations are in the API (/docs).</noscript>
</body>
</html>`

/**
 * /ui: the admin console's page and its bundled assets. What it shows comes from the API it calls. The page
 * is `no-store`: a browser keeps such a page out of its back/forward cache, where a key's secret shown once
 * (or any admin data) would come back with the Back button, without a request, after the session has ended.
 */
export const consoleRoutes = () =>
  new Elysia({ name: 'console' })
    .get('/ui', () => new Response(PAGE, { headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' } }), {
      detail: { hide: true },
    })
    .get(
      '/ui/assets/:file',
      async ({ params, request }) => {
        const asset = (await consoleBundle()).get(params.file)
        if (!asset) throw notFound('Unknown asset.')
        const headers = { 'content-type': asset.type, 'cache-control': 'no-cache', etag: asset.etag }
        if (request.headers.get('if-none-match') === asset.etag) return new Response(null, { status: 304, headers })
        return new Response(asset.body, { headers })
      },
      { detail: { hide: true } },
    )
