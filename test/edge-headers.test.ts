/**
 * SPEC §7 edge headers: security headers on every answer (errors and streams included), the /docs
 * policy, HSTS only over HTTPS, the off switch, X-Request-Id, and CORS off / on.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { MASTER_KEY, startTestGateway, type TestGateway } from './support/gateway'

const API_CSP = "default-src 'none'; frame-ancestors 'none'"
const ALLOWED_ORIGIN = 'https://app.example.com'

let mock: MockProvider
/** Plain gateway: no CORS, no rate limit, trust_proxy off, 1 KiB body limit. */
let gw: TestGateway
/** rate_limit_per_min: 2 */
let limited: TestGateway
/** trust_proxy: true */
let proxied: TestGateway
/** disable_security_headers: true (and trust_proxy, so that HSTS would otherwise be due) */
let bare: TestGateway
/** cors_allowed_origins: [ALLOWED_ORIGIN] */
let corsGw: TestGateway
let secret: string

beforeAll(async () => {
  mock = startMockProvider()
  ;[gw, limited, proxied, bare, corsGw] = await Promise.all([
    startTestGateway({ mock, config: { max_body_bytes: 1024 } }),
    startTestGateway({ config: { rate_limit_per_min: 2 } }),
    startTestGateway({ config: { trust_proxy: true } }),
    startTestGateway({ mock, config: { disable_security_headers: true, trust_proxy: true, max_body_bytes: 1024 } }),
    startTestGateway({ config: { cors_allowed_origins: [ALLOWED_ORIGIN] } }),
  ])
  ;({ secret } = await gw.userWithKey({ id: 'edge-headers', max_budget: 10 }))
})
afterAll(async () => {
  await Promise.all([gw, limited, proxied, bare, corsGw].map((g) => g?.stop()))
  await mock?.stop()
})

const SECURITY_HEADERS = ['x-content-type-options', 'x-frame-options', 'referrer-policy', 'content-security-policy'] as const

/** Compared as one object so that a failure names the answer it is about. */
function expectSecurityHeaders(h: Headers, label = '', csp = API_CSP) {
  const got: Record<string, string | null> = Object.fromEntries(SECURITY_HEADERS.map((name) => [name, h.get(name)]))
  expect({ label, ...got } as Record<string, unknown>).toEqual({
    label,
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'strict-origin-when-cross-origin',
    'content-security-policy': csp,
  })
}

function expectNoSecurityHeaders(h: Headers, label = '') {
  for (const name of [...SECURITY_HEADERS, 'strict-transport-security'])
    expect({ label, name, value: h.get(name) }).toEqual({ label, name, value: null })
}

const accessControlHeaders = (h: Headers) => [...h.keys()].filter((k) => k.toLowerCase().startsWith('access-control-'))

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/** One answer of every kind the brief lists, from the plain gateway (the 429 from the limited one). */
async function answersOfEveryKind(): Promise<Array<{ what: string; status: number; res: Response }>> {
  const json = { 'content-type': 'application/json' }
  const out: Array<{ what: string; status: number; res: Response }> = []
  const add = async (what: string, status: number, res: Promise<Response>) => {
    const r = await res
    await r.arrayBuffer()
    out.push({ what, status, res: r })
  }
  await add('200 /health', 200, fetch(`${gw.url}/health`))
  await add('401 /v1/users without key', 401, fetch(`${gw.url}/v1/users`))
  await add('404 unknown path with the master key', 404, fetch(`${gw.url}/v1/no-such-route`, { headers: gw.master }))
  await add('413 body too large', 413, fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, ...json },
    body: JSON.stringify({ model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'x'.repeat(2048) }] }),
  }))
  await add('400 malformed JSON', 400, fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST', headers: { authorization: `Bearer ${secret}`, ...json }, body: '{"model": "mock:gpt-mock", "messages": [',
  }))
  await add('403 admin route with a virtual key', 403, fetch(`${gw.url}/v1/users`, { headers: { authorization: `Bearer ${secret}` } }))
  // rate_limit_per_min 2: the third request in the same minute is refused.
  await fetch(`${limited.url}/health`).then((r) => r.arrayBuffer())
  await fetch(`${limited.url}/health`).then((r) => r.arrayBuffer())
  await add('429 rate limited', 429, fetch(`${limited.url}/health`))
  return out
}

describe('security headers', () => {
  test('are on every kind of answer: 200, 401, 404, 413, 400, 403, 429', async () => {
    const answers = await answersOfEveryKind()
    for (const { what, status, res } of answers) {
      expect({ what, status: res.status }).toEqual({ what, status })
      expectSecurityHeaders(res.headers, what)
      expect(res.headers.get('strict-transport-security')).toBeNull()
    }
  })

  test('are on a streamed chat completion', async () => {
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'mock:gpt-mock', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
    })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toContain('text/event-stream')
    expectSecurityHeaders(res.headers)
    expect(res.headers.get('x-request-id')).toMatch(UUID)
    const text = await res.text()
    expect(text).toContain('data: [DONE]')
  })

  test('/docs gets its own narrow policy: scripts from self only, no eval, no remote host', async () => {
    const res = await fetch(`${gw.url}/docs`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toContain('text/html')
    const csp = res.headers.get('content-security-policy')!
    expect(csp).not.toBeNull()
    expect(csp).not.toBe(API_CSP)
    const directives = new Map(
      csp.split(';').map((d) => d.trim()).filter(Boolean).map((d) => {
        const [name, ...values] = d.split(/\s+/)
        return [name!, values] as const
      }),
    )
    expect(directives.get('default-src')).toEqual(["'none'"])
    expect(directives.get('script-src')).toEqual(["'self'"])
    expect(directives.get('frame-ancestors')).toEqual(["'none'"])
    expect(csp).not.toContain('unsafe-eval')
    // No remote source anywhere: only keywords, 'self' and data: for images.
    for (const [name, values] of directives)
      for (const v of values) expect({ name, v, ok: /^'[a-z-]+'$/.test(v) || (name === 'img-src' && v === 'data:') }).toEqual({ name, v, ok: true })
    expect(res.headers.get('x-content-type-options')).toBe('nosniff')
    expect(res.headers.get('x-frame-options')).toBe('DENY')
    expect(res.headers.get('referrer-policy')).toBe('strict-origin-when-cross-origin')
    // The page itself loads nothing from elsewhere (it must work offline).
    const html = await res.text()
    const refs = [...html.matchAll(/\b(?:src|href)="([^"]+)"/g)].map((m) => m[1]!)
    expect(refs.length).toBeGreaterThan(0)
    for (const ref of refs) expect(ref).toMatch(/^\/docs\//)
    // …and every script it names is served by the gateway.
    for (const ref of refs.filter((r) => r.endsWith('.js'))) {
      const asset = await fetch(gw.url + ref)
      expect({ ref, status: asset.status }).toEqual({ ref, status: 200 })
      await asset.arrayBuffer()
    }
  })

  test('HSTS: absent over plain http, absent for X-Forwarded-Proto: https without trust_proxy', async () => {
    const plain = await fetch(`${gw.url}/health`)
    expect(plain.headers.get('strict-transport-security')).toBeNull()
    const spoofed = await fetch(`${gw.url}/health`, { headers: { 'x-forwarded-proto': 'https' } })
    expect(spoofed.status).toBe(200)
    expect(spoofed.headers.get('strict-transport-security')).toBeNull()
  })

  test('HSTS: present for X-Forwarded-Proto: https with trust_proxy, absent for plain http there', async () => {
    const https = await fetch(`${proxied.url}/health`, { headers: { 'x-forwarded-proto': 'https' } })
    expect(https.status).toBe(200)
    const hsts = https.headers.get('strict-transport-security')
    expect(hsts).not.toBeNull()
    expect(Number(/max-age=(\d+)/.exec(hsts!)?.[1])).toBeGreaterThan(0)
    expectSecurityHeaders(https.headers)
    // Also on an error answer.
    const refused = await fetch(`${proxied.url}/v1/users`, { headers: { 'x-forwarded-proto': 'https' } })
    expect(refused.status).toBe(401)
    expect(refused.headers.get('strict-transport-security')).toBe(hsts)

    const http = await fetch(`${proxied.url}/health`, { headers: { 'x-forwarded-proto': 'http' } })
    expect(http.headers.get('strict-transport-security')).toBeNull()
    const none = await fetch(`${proxied.url}/health`)
    expect(none.headers.get('strict-transport-security')).toBeNull()
  })

  test('disable_security_headers removes all of them (HSTS included), but not X-Request-Id', async () => {
    const responses = [
      await fetch(`${bare.url}/health`, { headers: { 'x-forwarded-proto': 'https' } }),
      await fetch(`${bare.url}/v1/users`, { headers: { 'x-forwarded-proto': 'https' } }),
      await fetch(`${bare.url}/v1/nope`, { headers: { authorization: `Bearer ${MASTER_KEY}`, 'x-forwarded-proto': 'https' } }),
      await fetch(`${bare.url}/docs`),
      await fetch(`${bare.url}/v1/chat/completions`, {
        method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' }, body: 'x'.repeat(2048),
      }),
    ]
    expect(responses.map((r) => r.status)).toEqual([200, 401, 404, 200, 413])
    for (const res of responses) {
      const label = `${res.status} ${res.url}`
      expectNoSecurityHeaders(res.headers, label)
      expect({ label, requestId: UUID.test(res.headers.get('x-request-id') ?? '') }).toEqual({ label, requestId: true })
      await res.arrayBuffer()
    }
  })
})

describe('X-Request-Id', () => {
  test('is on every answer, errors included, and unique per request', async () => {
    const answers = await answersOfEveryKind()
    const ids = answers.map(({ res }) => res.headers.get('x-request-id'))
    for (const [i, id] of ids.entries()) {
      const what = answers[i]!.what
      expect({ what, requestId: UUID.test(id ?? '') }).toEqual({ what, requestId: true })
    }
    const concurrent = await Promise.all(
      Array.from({ length: 30 }, () => fetch(`${gw.url}/health`).then(async (r) => (await r.arrayBuffer(), r.headers.get('x-request-id')))),
    )
    for (const id of concurrent) expect(id).toMatch(UUID)
    const all = [...ids, ...concurrent]
    expect(new Set(all).size).toBe(all.length)
  })

  test('a client-sent X-Request-Id does not replace the gateway\'s own', async () => {
    const res = await fetch(`${gw.url}/health`, { headers: { 'x-request-id': 'client-chosen-id' } })
    expect(res.headers.get('x-request-id')).toMatch(UUID)
  })
})

describe('CORS off (no origins configured)', () => {
  test('no access-control-* header on a normal request, even with an Origin', async () => {
    for (const [path, headers] of [
      ['/health', {}],
      ['/v1/users', gw.master],
      ['/v1/users', {}],
    ] as const) {
      const res = await fetch(gw.url + path, { headers: { ...headers, origin: ALLOWED_ORIGIN } })
      await res.arrayBuffer()
      expect({ path, ach: accessControlHeaders(res.headers) }).toEqual({ path, ach: [] })
    }
  })

  test('an OPTIONS preflight is not answered: it needs auth like anything else (401), with no CORS header', async () => {
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'OPTIONS',
      headers: { origin: ALLOWED_ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
    })
    expect(res.status).toBe(401)
    expect(accessControlHeaders(res.headers)).toEqual([])
    expectSecurityHeaders(res.headers)
    const body = (await res.json()) as any
    expect(body.error.code).toBe('invalid_api_key')
  })
})

describe('CORS on (one allowed origin)', () => {
  test('the allowed origin is echoed, with Vary: Origin', async () => {
    const res = await fetch(`${corsGw.url}/health`, { headers: { origin: ALLOWED_ORIGIN } })
    expect(res.status).toBe(200)
    expect(res.headers.get('access-control-allow-origin')).toBe(ALLOWED_ORIGIN)
    expect((res.headers.get('vary') ?? '').split(',').map((v) => v.trim().toLowerCase())).toContain('origin')
    expect(res.headers.get('access-control-allow-credentials')).not.toBe('true')
    expectSecurityHeaders(res.headers)
    // On an authenticated call and on an error as well.
    const ok = await fetch(`${corsGw.url}/v1/users`, { headers: { ...corsGw.master, origin: ALLOWED_ORIGIN } })
    expect(ok.status).toBe(200)
    expect(ok.headers.get('access-control-allow-origin')).toBe(ALLOWED_ORIGIN)
    const refused = await fetch(`${corsGw.url}/v1/users`, { headers: { origin: ALLOWED_ORIGIN } })
    expect(refused.status).toBe(401)
    expect(refused.headers.get('access-control-allow-origin')).toBe(ALLOWED_ORIGIN)
  })

  test('other origins get no allow-origin: another host, look-alikes, prototype names, null', async () => {
    for (const origin of [
      'https://evil.example.com',
      'http://app.example.com',
      'https://app.example.com.evil.example',
      'https://app.example.com:8443',
      'app.example.com',
      'constructor',
      '__proto__',
      'toString',
      'hasOwnProperty',
      'null',
      '*',
    ]) {
      const res = await fetch(`${corsGw.url}/health`, { headers: { origin } })
      await res.arrayBuffer()
      expect({ origin, acao: res.headers.get('access-control-allow-origin') }).toEqual({ origin, acao: null })
      expect(res.headers.get('access-control-allow-credentials')).not.toBe('true')
    }
    const noOrigin = await fetch(`${corsGw.url}/health`)
    expect(noOrigin.headers.get('access-control-allow-origin')).toBeNull()
  })

  test('a preflight from the allowed origin: 204, limited methods and headers, no credentials, security headers', async () => {
    const res = await fetch(`${corsGw.url}/v1/chat/completions`, {
      method: 'OPTIONS',
      headers: { origin: ALLOWED_ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
    })
    expect(res.status).toBe(204)
    expect(res.headers.get('access-control-allow-origin')).toBe(ALLOWED_ORIGIN)
    const methods = (res.headers.get('access-control-allow-methods') ?? '').split(',').map((m) => m.trim().toUpperCase())
    expect(methods).toContain('POST')
    expect(methods).not.toContain('PUT')
    expect(methods).not.toContain('*')
    expect(methods).not.toContain('TRACE')
    expect(methods).not.toContain('CONNECT')
    const allowHeaders = (res.headers.get('access-control-allow-headers') ?? '').split(',').map((m) => m.trim().toLowerCase())
    expect(allowHeaders).toContain('authorization')
    expect(allowHeaders).toContain('content-type')
    expect(allowHeaders).not.toContain('*')
    expect(res.headers.get('access-control-allow-credentials')).not.toBe('true')
    expectSecurityHeaders(res.headers)
    expect(res.headers.get('x-request-id')).toMatch(UUID)
  })

  test('a preflight from another origin is not granted', async () => {
    for (const origin of ['https://evil.example.com', 'constructor']) {
      const res = await fetch(`${corsGw.url}/v1/chat/completions`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
      })
      await res.arrayBuffer()
      expect({ origin, acao: res.headers.get('access-control-allow-origin') }).toEqual({ origin, acao: null })
      expect(res.headers.get('access-control-allow-credentials')).not.toBe('true')
    }
  })
})
