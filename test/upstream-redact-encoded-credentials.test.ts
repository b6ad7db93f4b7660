/**
 * SPEC §3: provider error text is "summarised, never forwarded with credentials"; §2: secrets are never returned
 * by any endpoint. Redaction knew a credential only as written (and, through JSON parsing, with JSON escapes), but
 * an error text commonly spells it two other ways a client decodes: HTML character references (Go's html/template,
 * the usual way a Go proxy renders its error page, writes `+` as `&#43;`, and a proxy token or a `Basic` token,
 * base64, holds `+` and `/` as often as not) and percent-encoding (`%2B`, `%2F`: a proxy quoting the credential
 * in a URL). Both reached the client in the summary of a 4xx, in a stream's error event and in the operator log.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { summariseUpstreamText } from '../src/providers/upstream'
import { startTestGateway, type TestGateway } from './support/gateway'
import { openAIEvent, sseResponse, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'

// A configured proxy credential (README: "the value of a configured header named as a credential").
const PROXY_TOKEN = 'pX7+Qm2rT9/vK4+wZ8nB3yL6cF1hJ5dG'
/** The run between the token's two `+`: 16 of its characters, too much of it to show. */
const TOKEN_MIDDLE = PROXY_TOKEN.split('+')[1]!
/** `text` as Go's html/template escapes it in a text node: `+` → `&#43;` (and `&<>"'`, which the token lacks). */
const goEscaped = (text: string) => text.replaceAll('+', '&#43;')
/** What any HTML decoder makes of numeric character references. */
const decodeRefs = (text: string) =>
  text.replace(/&#(x[0-9a-f]+|\d+);/gi, (_, n: string) => String.fromCodePoint(n[0]!.toLowerCase() === 'x' ? parseInt(n.slice(1), 16) : Number(n)))

const PROVIDER = { type: 'openai' as const, base_url: 'https://proxy.example/v1', api_key: 'sk-encoded-0123456789abcdefABCDEF', headers: { 'X-Proxy-Token': PROXY_TOKEN } }

let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string

beforeAll(async () => {
  upstream = startScriptedUpstream()
  gw = await startTestGateway({
    config: {
      providers: { px: { ...PROVIDER, base_url: `${upstream.url}/v1` } },
      pricing: { 'px:m': { input_per_million: 1, output_per_million: 2 } },
    },
  })
  secret = (await gw.userWithKey({ id: 'team-encoded-credentials', max_budget: 10 })).secret
})
afterAll(async () => {
  await gw?.stop()
  await upstream?.stop()
})

const chat = (stream = false) =>
  fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'px:m', max_tokens: 5, stream, messages: [{ role: 'user', content: 'hi' }] }),
  })

test('a credential echoed with HTML character references in a 400 error page does not reach the client', async () => {
  upstream.answer(
    () =>
      new Response(`<!doctype html><html><body><h1>Bad Request</h1><p>proxy token ${goEscaped(PROXY_TOKEN)} is not allowed on /v1/chat/completions</p></body></html>`, {
        status: 400,
        headers: { 'content-type': 'text/html; charset=utf-8' },
      }),
  )
  const res = await chat()
  const text = await res.text()
  expect(res.status).toBe(400)
  expect(JSON.parse(text).error.message).toBe('Upstream provider answered 400 (text/html): Bad Request proxy token [redacted] is not allowed on /v1/chat/completions')
  expect(decodeRefs(text)).not.toContain(PROXY_TOKEN)
  expect(text).not.toContain(TOKEN_MIDDLE)
})

test('nor one echoed percent-encoded in a JSON 400 (a proxy quoting the credential as a URL parameter)', async () => {
  upstream.answer(
    () =>
      new Response(JSON.stringify({ error: { message: `token rejected: retry with https://proxy.example/auth?token=${encodeURIComponent(PROXY_TOKEN)}` } }), {
        status: 400,
        headers: { 'content-type': 'application/json' },
      }),
  )
  const res = await chat()
  const text = await res.text()
  expect(res.status).toBe(400)
  expect(JSON.parse(text).error.message).toBe('Upstream provider answered 400: token rejected: retry with https://proxy.example/auth?token=[redacted]')
  expect(decodeURIComponent(JSON.parse(text).error.message)).not.toContain(PROXY_TOKEN)
})

test('nor one percent-encoded in an error event of a stream', async () => {
  upstream.answer(() => sseResponse([openAIEvent({ error: { message: `proxy saw token=${encodeURIComponent(PROXY_TOKEN)}` } })]))
  const text = await (await chat(true)).text()
  expect(text).toContain('proxy saw token=[redacted]')
  expect(decodeURIComponent(text)).not.toContain(PROXY_TOKEN)
  expect(text).not.toContain(TOKEN_MIDDLE)
})

test('every spelling an encoder gives the credential is cut, mixed as it comes, and a page decoded is redacted before it is cut', () => {
  const spellings = [
    PROXY_TOKEN.replaceAll('+', '&#x2b;').replaceAll('/', '&#0047'),
    PROXY_TOKEN.replaceAll('+', '%2b'),
    // Python's urllib.parse.quote leaves `/` as it is.
    PROXY_TOKEN.replaceAll('+', '%2B'),
    PROXY_TOKEN.replaceAll('+', '\\u002B').replaceAll('/', '\\/'),
  ]
  for (const spelling of spellings) {
    const summary = summariseUpstreamText(502, `bad gateway: ${spelling}`, PROVIDER, 'text/plain')
    expect({ spelling, summary }).toEqual({ spelling, summary: 'Upstream provider answered 502 (text/plain): bad gateway: [redacted]' })
  }
  // Escaped twice (`&amp;#43;`): the page's text decoded spells it `&#43;`, and the excerpt's cut falls inside it.
  const padding = 'x'.repeat(110)
  const page = `<html><body><p>${padding} ${PROXY_TOKEN.replaceAll('+', '&amp;#43;')}</p></body></html>`
  const summary = summariseUpstreamText(502, page, PROVIDER, 'text/html')
  expect(summary).toBe(`Upstream provider answered 502 (text/html): ${padding} [redacted`)
  expect(decodeRefs(summary)).not.toContain(PROXY_TOKEN.slice(0, 3) + '+')
})

test("an HTML page's character references are decoded: numeric ones too, never into markup or control characters", () => {
  const page = '<p>can&#39;t route &quot;m&quot; &amp; &#x3C;b&#x3E; 5&#43;1&#0;&#x1b;[31m</p>'
  expect(summariseUpstreamText(502, page, PROVIDER, 'text/html')).toBe(`Upstream provider answered 502 (text/html): can't route "m" & b 5+1 [31m`)
})
