/**
 * Issue 12 item 12: an error page from a proxy in front of a provider (nginx's HTML 502, a CDN's page) is
 * summarised (status, content type, a short text-only excerpt), never passed on as markup.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { summariseUpstreamError } from '../src/providers/upstream'
import type { TestGateway } from './support/gateway'
import { scriptedGateway, type ScriptedUpstream } from './support/scripted-upstream'

const NGINX_502 =
  '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n' +
  '<hr><center>nginx/1.25.3</center>\r\n</body>\r\n</html>\r\n'
const UNTITLED =
  '<!doctype html><html><head><style>body{color:red}</style><script>var token="abc";</script></head>' +
  `<body><!-- internal: 10.0.0.7 --><div class="x"><p>Service <b>temporarily</b> unavailable &amp; retrying</p>${'<p>filler</p>'.repeat(200)}</div></body></html>`

const provider = { type: 'openai' as const, base_url: 'https://example.invalid/v1', api_key: '', headers: {} }
function page(body: string, status: number, type: string | null): Response {
  const res = new Response(body, { status, headers: type ? { 'content-type': type } : {} })
  // A string body is given text/plain by default: a provider's page may come with no type at all.
  if (!type) res.headers.delete('content-type')
  return res
}

describe('summarising a non-JSON error body', () => {
  test('an HTML page: its title, with status and content type', async () => {
    expect(await summariseUpstreamError(page(NGINX_502, 502, 'text/html'), provider)).toBe(
      'Upstream provider answered 502 (text/html): 502 Bad Gateway',
    )
  })

  test('an HTML page without a title: its text, without scripts, styles, comments or tags, cut short', async () => {
    const summary = await summariseUpstreamError(page(UNTITLED, 503, 'text/html; charset=utf-8'), provider)
    expect(summary.startsWith('Upstream provider answered 503 (text/html): Service temporarily unavailable & retrying filler')).toBe(true)
    expect(summary).not.toMatch(/[<>]/)
    for (const hidden of ['token', 'color', '10.0.0.7', 'class']) expect(summary).not.toContain(hidden)
    expect(summary.length).toBeLessThan(200)
  })

  test('markup with no content type, or a mislabelled one, is still markup', async () => {
    for (const type of [null, 'text/plain', 'application/json']) {
      const summary = await summariseUpstreamError(page(NGINX_502, 502, type), provider)
      expect({ type, summary }).toEqual({ type, summary: `Upstream provider answered 502${type ? ` (${type})` : ''}: 502 Bad Gateway` })
    }
  })

  test('plain text stays readable; a JSON error keeps its message', async () => {
    expect(await summariseUpstreamError(page('upstream connect error or disconnect/reset before headers', 503, 'text/plain'), provider)).toBe(
      'Upstream provider answered 503 (text/plain): upstream connect error or disconnect/reset before headers',
    )
    const json = JSON.stringify({ error: { message: 'max_tokens must be at most 4096' } })
    expect(await summariseUpstreamError(page(json, 400, 'application/json'), provider)).toBe('Upstream provider answered 400: max_tokens must be at most 4096')
  })

  test('a content type is reported as a media type only, never as free text', async () => {
    expect(await summariseUpstreamError(page('oops', 500, 'Text/HTML; charset=utf-8'), provider)).toBe('Upstream provider answered 500 (text/html): oops')
    const summary = await summariseUpstreamError(page('oops', 500, 'text/x-<script>alert(1)</script>; a=b'), provider)
    expect(summary).toBe('Upstream provider answered 500: oops')
  })
})

describe('end to end', () => {
  let upstream: ScriptedUpstream
  let gw: TestGateway
  let secret: string

  let stop: () => Promise<void>

  beforeAll(async () => {
    ;({ upstream, gw, secret, stop } = await scriptedGateway('team-pages'))
  })
  afterAll(() => stop())

  test('a proxy\'s HTML 502 reaches the client as one sentence, on both wire formats', async () => {
    upstream.answer(() => page(NGINX_502, 502, 'text/html'))
    for (const [path, model] of [['/v1/chat/completions', 'plain:m'], ['/v1/messages', 'ant:m'], ['/v1/chat/completions', 'ant:m']] as const) {
      const res = await fetch(`${gw.url}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model, max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] }),
      })
      const body = (await res.json()) as { error: { message: string } }
      expect({ path, model, status: res.status }).toEqual({ path, model, status: 502 })
      expect(body.error.message).toBe('Upstream provider answered 502 (text/html): 502 Bad Gateway')
    }
  })
})
