/**
 * SPEC §7 and §8 at the edge: per-IP and per-key rate limits, client IP behind a (trusted or not)
 * proxy, body size, malformed and invalid bodies, and the API request log of refused requests.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { MASTER_KEY, startTestGateway, type TestGateway } from './support/gateway'

const API_CSP = "default-src 'none'; frame-ancestors 'none'"

let mock: MockProvider
/** rate_limit_per_min: 5, trust_proxy off */
let ipLimited: TestGateway
/** rate_limit_per_min: 5, trust_proxy off; only bad keys are sent to it */
let badKeys: TestGateway
/** rate_limit_per_min: 3, trust_proxy on */
let proxied: TestGateway
/** no rate limit, max_body_bytes 1024, the mock provider */
let gw: TestGateway

beforeAll(async () => {
  mock = startMockProvider()
  ;[ipLimited, badKeys, proxied, gw] = await Promise.all([
    startTestGateway({ config: { rate_limit_per_min: 5 } }),
    startTestGateway({ config: { rate_limit_per_min: 5 } }),
    startTestGateway({ config: { rate_limit_per_min: 3, trust_proxy: true } }),
    startTestGateway({ mock, config: { max_body_bytes: 1024 } }),
  ])
})
afterAll(async () => {
  await Promise.all([ipLimited, badKeys, proxied, gw].map((g) => g?.stop()))
  await mock?.stop()
})
beforeEach(() => mock.reset())

interface Answer {
  status: number
  headers: Headers
  body: any
  text: string
}

async function send(url: string, init: RequestInit = {}): Promise<Answer> {
  const res = await fetch(url, init)
  const text = await res.text()
  let body: any = null
  try {
    body = text ? JSON.parse(text) : null
  } catch {}
  return { status: res.status, headers: res.headers, body, text }
}

const json = (key: string | null, body: unknown): RequestInit => ({
  method: 'POST',
  headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), 'content-type': 'application/json' },
  body: typeof body === 'string' ? body : JSON.stringify(body),
})

const rate = (h: Headers) => ({
  limit: h.get('x-ratelimit-limit'),
  remaining: h.get('x-ratelimit-remaining'),
  reset: h.get('x-ratelimit-reset'),
})

function expectOpenAIError(a: Answer, status: number, code: string) {
  expect(a.status).toBe(status)
  expect(a.headers.get('content-type') ?? '(no content-type)').toContain('application/json')
  expect(a.body?.error?.code).toBe(code)
  expect(typeof a.body.error.message).toBe('string')
  expect(a.body.error.message.length).toBeGreaterThan(0)
  expect(typeof a.body.error.type).toBe('string')
}

function expectSecurityHeaders(h: Headers) {
  expect({
    nosniff: h.get('x-content-type-options'),
    frame: h.get('x-frame-options'),
    referrer: h.get('referrer-policy'),
    csp: h.get('content-security-policy'),
  }).toEqual({ nosniff: 'nosniff', frame: 'DENY', referrer: 'strict-origin-when-cross-origin', csp: API_CSP })
}

describe('per-IP rate limit', () => {
  test('every answer carries X-RateLimit-*: /health, a 401, a 200; remaining decreases; reset is unix seconds ahead', async () => {
    const before = Math.floor(Date.now() / 1000)
    const answers = [
      await send(`${ipLimited.url}/health`),
      await send(`${ipLimited.url}/v1/users`),
      await send(`${ipLimited.url}/v1/users`, { headers: ipLimited.master }),
    ]
    expect(answers.map((a) => a.status)).toEqual([200, 401, 200])
    const remaining: number[] = []
    for (const a of answers) {
      const r = rate(a.headers)
      expect(r.limit).toBe('5')
      expect(r.remaining).toMatch(/^\d+$/)
      expect(r.reset).toMatch(/^\d+$/)
      const reset = Number(r.reset)
      // Unix seconds (not milliseconds, not a delta): after now and within the minute window.
      expect(reset).toBeGreaterThanOrEqual(before)
      expect(reset * 1000).toBeGreaterThan(Date.now())
      expect(reset).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000) + 61)
      remaining.push(Number(r.remaining))
    }
    // The first request of this gateway's only client: one of five used.
    expect(remaining[0]).toBe(4)
    expect(remaining[1]).toBe(remaining[0]! - 1)
    expect(remaining[2]).toBe(remaining[1]! - 1)
  })

  test('over the limit: 429 in the OpenAI shape with Retry-After; another X-Forwarded-For does not escape without trust_proxy', async () => {
    let last: Answer | undefined
    const statuses: number[] = []
    for (let i = 0; i < 8; i++) {
      last = await send(`${ipLimited.url}/health`)
      statuses.push(last.status)
      if (last.status === 429) break
    }
    expect(statuses.at(-1)).toBe(429)
    // At most the limit (5) got through in this minute, over both tests of this block.
    expect(statuses.filter((s) => s === 200).length).toBeLessThanOrEqual(5)
    expectOpenAIError(last!, 429, 'rate_limit_exceeded')
    expect(last!.body.error.type).toBe('rate_limit_error')
    const retryAfter = Number(last!.headers.get('retry-after'))
    expect(Number.isInteger(retryAfter)).toBe(true)
    expect(retryAfter).toBeGreaterThanOrEqual(1)
    expect(retryAfter).toBeLessThanOrEqual(60)
    expect(rate(last!.headers).limit).toBe('5')
    expect(rate(last!.headers).remaining).toBe('0')
    expect(Number(rate(last!.headers).reset)).toBeGreaterThanOrEqual(Math.floor(Date.now() / 1000))
    expectSecurityHeaders(last!.headers)

    // The limit is per client IP, and without trust_proxy the client IP is the socket's.
    for (const xff of ['198.51.100.7', '203.0.113.9, 198.51.100.8', '10.0.0.1']) {
      const a = await send(`${ipLimited.url}/health`, { headers: { 'x-forwarded-for': xff } })
      expect({ xff, status: a.status }).toEqual({ xff, status: 429 })
    }
    // The master key is not a way around it either: the limit is counted before authentication.
    expect((await send(`${ipLimited.url}/v1/users`, { headers: ipLimited.master })).status).toBe(429)
  })

  test('requests with bad keys are counted: a flood of them ends in 429, not endless 401s', async () => {
    const statuses: number[] = []
    for (let i = 0; i < 12; i++) {
      const a = await send(`${badKeys.url}/v1/models`, { headers: { authorization: `Bearer tg-guess-${i}-${'0'.repeat(40)}` } })
      statuses.push(a.status)
    }
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401])
    expect(statuses.slice(5)).toEqual(Array(7).fill(429))
    // No key at all is counted the same way.
    expect((await send(`${badKeys.url}/v1/models`)).status).toBe(429)
  })
})

describe('client IP behind a trusted proxy', () => {
  test('different X-Forwarded-For clients get separate buckets', async () => {
    const a = '192.0.2.10'
    const b = '192.0.2.11'
    const fromA: number[] = []
    for (let i = 0; i < 4; i++) fromA.push((await send(`${proxied.url}/health`, { headers: { 'x-forwarded-for': a } })).status)
    expect(fromA).toEqual([200, 200, 200, 429])
    const first = await send(`${proxied.url}/health`, { headers: { 'x-forwarded-for': b } })
    expect(first.status).toBe(200)
    expect(rate(first.headers)).toMatchObject({ limit: '3', remaining: '2' })
  })

  test('the right-most X-Forwarded-For entry is the client: spoofing the left part does not escape', async () => {
    const client = '192.0.2.20'
    for (let i = 0; i < 3; i++) expect((await send(`${proxied.url}/health`, { headers: { 'x-forwarded-for': client } })).status).toBe(200)
    // The client prepends made-up addresses; our proxy appended the real one last.
    for (const spoofed of [`1.2.3.4, ${client}`, `5.6.7.8,${client}`, `${'9.9.9.9, '.repeat(5)}${client}`]) {
      const res = await send(`${proxied.url}/health`, { headers: { 'x-forwarded-for': spoofed } })
      expect({ spoofed, status: res.status }).toEqual({ spoofed, status: 429 })
    }
    // Whereas a different right-most entry is a different client.
    const other = await send(`${proxied.url}/health`, { headers: { 'x-forwarded-for': `${client}, 192.0.2.21` } })
    expect(other.status).toBe(200)
  })

  test('an IPv6 client counts by its /64, as the request log groups it: a new address per request does not escape', async () => {
    const statuses: number[] = []
    for (let i = 1; i <= 10; i++) {
      // One subscriber's /64, a new address each time (as a host with privacy addresses may), with bad keys.
      const res = await send(`${proxied.url}/v1/models`, { headers: { 'x-forwarded-for': `2001:db8:1:2::${i.toString(16)}`, authorization: 'Bearer tg-bad' } })
      statuses.push(res.status)
    }
    expect(statuses).toEqual([...Array(3).fill(401), ...Array(7).fill(429)])
    await proxied.settled()
    const sources = proxied.query(`SELECT DISTINCT client_ip FROM api_request_log WHERE client_ip LIKE '2001:db8:1:2%'`).map((r: any) => r.client_ip)
    expect(sources).toEqual(['2001:db8:1:2::/64'])
    // The next /64 is another subscriber.
    expect((await send(`${proxied.url}/health`, { headers: { 'x-forwarded-for': '2001:db8:1:3::1' } })).status).toBe(200)
  })

  test('an IPv4-mapped IPv6 address counts as its IPv4 address', async () => {
    for (let i = 0; i < 3; i++) expect((await send(`${proxied.url}/health`, { headers: { 'x-forwarded-for': '::ffff:192.0.2.40' } })).status).toBe(200)
    expect((await send(`${proxied.url}/health`, { headers: { 'x-forwarded-for': '192.0.2.40' } })).status).toBe(429)
  })
})

describe('without rate limiting configured', () => {
  test('no X-RateLimit-* header on any answer', async () => {
    const answers = [
      await send(`${gw.url}/health`),
      await send(`${gw.url}/v1/users`),
      await send(`${gw.url}/v1/users`, { headers: gw.master }),
    ]
    expect(answers.map((a) => a.status)).toEqual([200, 401, 200])
    for (const a of answers) {
      expect([...a.headers.keys()].filter((k) => k.startsWith('x-ratelimit-'))).toEqual([])
      expect(a.headers.get('retry-after')).toBeNull()
    }
  })
})

describe('per-key rpm_limit', () => {
  test('the 4th request with a key limited to 3/min is refused even without an IP limit; another key is unaffected', async () => {
    const user = await gw.admin('POST', '/v1/users', { id: 'rpm-team', max_budget: 10 })
    expect(user.status).toBe(201)
    const limitedKey = await gw.admin('POST', '/v1/keys', { user_id: 'rpm-team', rpm_limit: 3 })
    expect(limitedKey.status).toBe(201)
    expect(limitedKey.body.rpm_limit).toBe(3)
    const freeKey = await gw.admin('POST', '/v1/keys', { user_id: 'rpm-team' })
    expect(freeKey.status).toBe(201)

    const withLimited: Answer[] = []
    for (let i = 0; i < 4; i++) withLimited.push(await send(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${limitedKey.body.key}` } }))
    expect(withLimited.map((a) => a.status)).toEqual([200, 200, 200, 429])
    expect(withLimited.slice(0, 3).map((a) => rate(a.headers).remaining)).toEqual(['2', '1', '0'])
    for (const a of withLimited) expect(rate(a.headers).limit).toBe('3')
    const refused = withLimited[3]!
    expectOpenAIError(refused, 429, 'rate_limit_exceeded')
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)

    // A chat completion with the limited key is refused before the provider is called.
    const chat = await send(`${gw.url}/v1/chat/completions`, json(limitedKey.body.key, { model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'hi' }] }))
    expectOpenAIError(chat, 429, 'rate_limit_exceeded')
    expect(mock.calls.length).toBe(0)

    for (let i = 0; i < 5; i++) {
      const a = await send(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${freeKey.body.key}` } })
      expect(a.status).toBe(200)
      expect(a.headers.get('x-ratelimit-limit')).toBeNull()
    }
    // The master key has no rpm_limit either.
    expect((await send(`${gw.url}/v1/models`, { headers: gw.master })).status).toBe(200)
  })
})

describe('body size limit (max_body_bytes 1024)', () => {
  const big = JSON.stringify({ model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'x'.repeat(2048) }] })

  test('a declared 2 KB body to /v1/chat/completions: 413 in the error shape with security headers; the provider gets nothing', async () => {
    const { secret } = await gw.userWithKey({ id: 'big-body', max_budget: 10 })
    const a = await send(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', 'content-length': String(big.length) },
      body: big,
    })
    expectOpenAIError(a, 413, 'body_too_large')
    expectSecurityHeaders(a.headers)
    expect(a.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
    expect(mock.calls.length).toBe(0)
  })

  test('the 413 comes before authentication: no key is needed to be refused', async () => {
    const a = await send(`${gw.url}/v1/chat/completions`, json(null, big))
    expectOpenAIError(a, 413, 'body_too_large')
    expectSecurityHeaders(a.headers)
    expect(mock.calls.length).toBe(0)
  })

  test('a body just under the limit is accepted and served', async () => {
    const { secret } = await gw.userWithKey({ id: 'small-body', max_budget: 10 })
    const body = JSON.stringify({ model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'x'.repeat(900) }] })
    expect(body.length).toBeLessThanOrEqual(1024)
    const a = await send(`${gw.url}/v1/chat/completions`, json(secret, body))
    expect(a.status).toBe(200)
    expect(mock.calls.length).toBe(1)
  })

  test('an oversized body sent chunked, without Content-Length, is refused too and never reaches the provider', async () => {
    const { secret } = await gw.userWithKey({ id: 'chunked-body', max_budget: 10 })
    const bytes = new TextEncoder().encode(big)
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: new ReadableStream({
        start(c) {
          c.enqueue(bytes.slice(0, 1000))
          c.enqueue(bytes.slice(1000))
          c.close()
        },
      }),
      duplex: 'half',
    } as RequestInit)
    await res.arrayBuffer()
    expect(res.status).toBe(413)
    expect(mock.calls.length).toBe(0)
  })
})

describe('malformed and invalid bodies', () => {
  let secret: string
  beforeAll(async () => {
    ;({ secret } = await gw.userWithKey({ id: 'bodies', max_budget: 10 }))
  })

  test('malformed JSON: 400 invalid_json whose message does not echo the body', async () => {
    const canary = 'sk-canary-VALUE-9f8e7d6c5b4a'
    for (const text of [`{"model": "mock:gpt-mock", "messages": [${canary}`, `{"api_key": "${canary}",`, `${canary}`]) {
      const a = await send(`${gw.url}/v1/chat/completions`, json(secret, text))
      expectOpenAIError(a, 400, 'invalid_json')
      expect(a.text).not.toContain(canary)
      expect(a.text).not.toContain('9f8e7d6c5b4a')
      expectSecurityHeaders(a.headers)
    }
    expect(mock.calls.length).toBe(0)
  })

  test('validation errors: 400 naming the field, without echoing the value', async () => {
    const canary = 'sk-canary-OTHER-1a2b3c4d5e6f'
    const cases: Array<[unknown, string]> = [
      [{ model: 'mock:gpt-mock' }, 'messages'],
      [{ model: 123, messages: [{ role: 'user', content: 'hi' }] }, 'model'],
      [{ messages: [{ role: 'user', content: 'hi' }] }, 'model'],
      [{ model: 'mock:gpt-mock', messages: canary }, 'messages'],
      [{ model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'hi' }], max_tokens: canary }, 'max_tokens'],
    ]
    for (const [body, field] of cases) {
      const a = await send(`${gw.url}/v1/chat/completions`, json(secret, body))
      expect({ body, status: a.status, code: a.body?.error?.code }).toEqual({ body, status: 400, code: 'invalid_request' })
      expect({ body, namesField: String(a.body.error.message).includes(field) }).toEqual({ body, namesField: true })
      expect(a.text).not.toContain(canary)
    }
    expect(mock.calls.length).toBe(0)
  })
})

describe('API request log of refused requests', () => {
  test('a row per request with a key (403, 402, 429), refusals before any key counted per source (401): status, method, route, client IP and key id; no secret in the table', async () => {
    const wrongKey = `tg-not-a-real-key-${'7'.repeat(40)}`
    const { secret, keyId } = await gw.userWithKey({ id: 'logged-team', max_budget: 10 })
    const limited = await gw.admin('POST', '/v1/keys', { user_id: 'logged-team', rpm_limit: 1 })
    expect(limited.status).toBe(201)
    const limitedSecret: string = limited.body.key
    const limitedId: string = limited.body.id

    const sent: Array<{ a: Answer; status: number; method: string; route: string; keyId: string | null }> = []
    const log = async (status: number, method: string, route: string, key: string | null, kid: string | null, init: RequestInit = {}) => {
      const headers = { ...(init.headers as Record<string, string>), ...(key ? { authorization: `Bearer ${key}` } : {}) }
      const a = await send(gw.url + route, { ...init, method, headers })
      expect({ route, status: a.status }).toEqual({ route, status })
      sent.push({ a, status, method, route, keyId: kid })
    }
    await log(401, 'GET', '/v1/users', wrongKey, null)
    await log(401, 'GET', '/v1/models', null, null)
    await log(403, 'GET', '/v1/users', secret, keyId)
    await log(402, 'POST', '/v1/chat/completions', secret, keyId, {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'mock:unpriced', messages: [{ role: 'user', content: 'hi' }] }),
    })
    await log(200, 'GET', '/v1/models', limitedSecret, limitedId)
    await log(429, 'GET', '/v1/models', limitedSecret, limitedId)
    expect(sent.find((s) => s.status === 402)!.a.body.error.code).toBe('pricing_required')
    expect(mock.calls.length).toBe(0)

    await gw.settled()
    for (const s of sent) {
      const id = s.a.headers.get('x-request-id')!
      expect(id).toMatch(/^[0-9a-f-]{36}$/)
      const expected = { status: s.status, method: s.method, route: s.route, client_ip: '127.0.0.1', key_id: s.keyId }
      if (s.keyId !== null) {
        const rows = gw.query('SELECT status, method, route, client_ip, key_id FROM api_request_log WHERE request_id = ?', id)
        expect({ route: s.route, rows }).toEqual({ route: s.route, rows: [expected] })
      } else {
        // Refused before any key was known: counted in its source's row for the minute (earlier tests knocked too).
        const rows = gw.query(
          "SELECT status, method, route, client_ip, key_id, count FROM api_request_log WHERE key_id IS NULL AND route = ? AND method = ? AND status = ? AND client_ip = '127.0.0.1'",
          s.route, s.method, s.status,
        )
        expect(rows.length).toBeGreaterThanOrEqual(1)
        for (const { count, ...row } of rows) {
          expect(row).toEqual(expected)
          expect(count).toBeGreaterThanOrEqual(1)
        }
      }
    }
    const byUser = gw.query<{ user_id: string | null; status: number }>(
      "SELECT user_id, status FROM api_request_log WHERE key_id = ? AND status = 403", keyId,
    )
    expect(byUser).toEqual([{ user_id: 'logged-team', status: 403 }])

    // No secret anywhere in the table, whatever the column.
    const all = gw.query<Record<string, unknown>>('SELECT * FROM api_request_log')
    expect(all.length).toBeGreaterThanOrEqual(sent.length)
    const dump = JSON.stringify(all)
    for (const s of [secret, limitedSecret, MASTER_KEY, wrongKey]) expect(dump).not.toContain(s)
    // …nor a usable part of one (the key body after its prefix).
    for (const s of [secret, limitedSecret]) expect(dump).not.toContain(s.slice(-20))
  })
})
