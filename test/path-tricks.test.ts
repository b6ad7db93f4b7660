/**
 * SPEC §3 / §4: everything under /v1 needs a credential and administration needs the master key,
 * whatever the request line looks like. Requests are written by hand on a TCP socket so that no
 * client normalises the path (dot segments, double slashes, encodings, absolute-form targets).
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { MASTER_KEY, startTestGateway, type TestGateway } from './support/gateway'
import { sendRaw, type RawResponse } from './support/raw-http'

let mock: MockProvider
let gw: TestGateway
let port: number
/** A virtual key (not the master key) and the data an unauthenticated probe must never see. */
let virtualKey: string
let keyId: string
let keyPrefix: string
const USER_ID = 'path-tricks-confidential-team'

beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock })
  port = Number(new URL(gw.url).port)
  const made = await gw.userWithKey({ id: USER_ID, alias: 'Confidential Alias', max_budget: 5 })
  virtualKey = made.secret
  keyId = made.keyId
  const listed = await gw.admin('GET', `/v1/keys/${keyId}`)
  keyPrefix = listed.body.key_prefix
  expect(keyPrefix.length).toBeGreaterThan(3)
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})

/** One request, exactly as written, on its own connection; the server closes it after answering. */
function raw(method: string, target: string, headers: Record<string, string> = {}, body = ''): Promise<RawResponse> {
  const lines = [`${method} ${target} HTTP/1.1`, `Host: 127.0.0.1:${port}`, 'Connection: close']
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`)
  if (body) lines.push(`Content-Length: ${Buffer.byteLength(body)}`)
  return sendRaw(port, `${lines.join('\r\n')}\r\n\r\n${body}`, 3_000)
}

/** Nothing that identifies a user or a key may leak to a caller who may not see it. */
function expectNoData(r: RawResponse, label: string) {
  for (const secret of [USER_ID, 'Confidential Alias', keyId, keyPrefix, virtualKey, MASTER_KEY])
    expect({ label, leaks: r.raw.includes(secret) ? secret : null }).toEqual({ label, leaks: null })
}

const TRICKS = () => [
  '/v1/keys',
  '//v1/keys',
  '///v1//keys',
  '/v1/./keys',
  '/v1/../v1/keys',
  '/V1/keys',
  '/V1/KEYS',
  '/v1%2fkeys',
  '/v1%2Fkeys',
  '/v1/%6beys',
  '/%761/keys',
  '/v1/%2e/keys',
  '/v1/keys/',
  '/v1/keys?x=1',
  '/v1/keys/?x=1',
  '/v1/keys#frag',
  '/v1/keys;x=1',
  '/v1/keys%00',
  '/docs/../v1/keys',
  '/docs/assets/../../v1/keys',
  '/docs/assets/%2e%2e/%2e%2e/v1/keys',
  '/docs/assets/..%2f..%2fv1%2fkeys',
  '/health/../v1/keys',
  '/health/%2e%2e/v1/keys',
  `/v1/keys/${'x'.repeat(20)}/../`,
  `/v1/keys/${'k'}`,
  '/v1/users',
  '//v1/users',
  '/v1/./users',
  `/v1/users/${'%70ath-tricks-confidential-team'}`,
  `/v1/users/${USER_ID}`,
  `/v1/users/${USER_ID}/usage`,
  `/v1/keys/${'KEYID'}`,
  '/v1/pricing',
  '/v1/usage',
  '/v1/usage/summary',
  '/v1/audit',
  `http://127.0.0.1:${port}/v1/keys`,
  `http://127.0.0.1:${port}//v1/users`,
  `http://evil.example.com/v1/keys`,
]

const targets = () => TRICKS().map((t) => t.replace('KEYID', keyId))

describe('no credential: never 2xx, never data', () => {
  test('GET on every path variant is refused (401, or 400/404)', async () => {
    const results = await Promise.all(targets().map(async (t) => [t, await raw('GET', t)] as const))
    for (const [target, r] of results) {
      expect({ target, ok: [400, 401, 404].includes(r.status) }).toEqual({ target, ok: true })
      expectNoData(r, target)
    }
    // The plain and the normalising variants are authentication failures, not merely unknown routes.
    for (const [target, r] of results.filter(([t]) => ['/v1/keys', '//v1/keys', '/v1/./keys', '/v1/keys/', '/v1/keys?x=1', '/v1/users'].includes(t)))
      expect({ target, status: r.status }).toEqual({ target, status: 401 })
  })

  test('HEAD and OPTIONS need auth too (no CORS configured)', async () => {
    for (const method of ['HEAD', 'OPTIONS']) {
      for (const target of ['/v1/keys', '//v1/keys', '/v1/users', '/v1/chat/completions']) {
        const r = await raw(method, target, method === 'OPTIONS' ? { Origin: 'https://evil.example.com', 'Access-Control-Request-Method': 'GET' } : {})
        expect({ method, target, status: r.status }).toEqual({ method, target, status: 401 })
        expectNoData(r, `${method} ${target}`)
        expect(r.headers.has('access-control-allow-origin')).toBe(false)
      }
    }
  })

  test('other methods on admin paths are refused before their bodies are read', async () => {
    for (const [method, target, body] of [
      ['POST', '/v1/keys', JSON.stringify({ user_id: USER_ID })],
      ['POST', '//v1/users', JSON.stringify({ id: 'intruder' })],
      ['PATCH', `/v1/users/${USER_ID}`, JSON.stringify({ max_budget: 1e6 })],
      ['DELETE', `/v1/keys/KEYID`, ''],
      ['POST', `/v1/keys/KEYID/rotate`, ''],
      ['POST', '/v1/pricing', '{not json'],
    ] as const) {
      const t = target.replace('KEYID', keyId)
      const r = await raw(method, t, body ? { 'Content-Type': 'application/json' } : {}, body)
      expect({ method, t, status: r.status }).toEqual({ method, t, status: 401 })
      expectNoData(r, `${method} ${t}`)
    }
    // Nothing changed.
    const user = await gw.admin('GET', `/v1/users/${USER_ID}`)
    expect(user.body.max_budget).toBe(5)
    expect((await gw.admin('GET', '/v1/users/intruder')).status).toBe(404)
    expect((await gw.admin('GET', `/v1/keys/${keyId}`)).body.revoked_at).toBeNull()
  })

  test('malformed or empty credentials are no credential', async () => {
    const basic = (s: string) => `Basic ${Buffer.from(s).toString('base64')}`
    const variants: Array<Record<string, string>> = [
      { Authorization: 'Bearer ' },
      { Authorization: 'Bearer' },
      { Authorization: 'Bearer    ' },
      { Authorization: '' },
      { Authorization: basic(`:${MASTER_KEY}`) },
      { Authorization: basic(`admin:${MASTER_KEY}`) },
      { Authorization: basic(MASTER_KEY) },
      { Authorization: `Token ${MASTER_KEY}` },
      { Authorization: `Bearer ${MASTER_KEY} extra` },
      { Authorization: `Bearer ${MASTER_KEY.slice(0, -1)}` },
      { Authorization: `Bearer ${MASTER_KEY}x` },
      { Authorization: `Bearer ${MASTER_KEY.toUpperCase()}` },
      { 'x-api-key': '' },
      { 'x-api-key': '   ' },
      { 'x-api-key': `Bearer ${MASTER_KEY}` },
      { 'x-api-key': MASTER_KEY.slice(0, 32) },
      { Cookie: `key=${MASTER_KEY}` },
      { 'X-Master-Key': MASTER_KEY },
    ]
    for (const headers of variants) {
      for (const target of ['/v1/keys', '/v1/users', `/v1/keys?api_key=${MASTER_KEY}`]) {
        const r = await raw('GET', target, headers)
        expect({ headers, target, status: r.status }).toEqual({ headers, target, status: 401 })
        expectNoData(r, `${JSON.stringify(headers)} ${target}`)
      }
    }
  })
})

describe('a virtual key on admin paths', () => {
  test('is refused with 403 on the real paths and never gets 2xx or data on the variants', async () => {
    const auth = { Authorization: `Bearer ${virtualKey}` }
    const admin = targets().filter((t) => !t.includes('evil.example.com'))
    const results = await Promise.all(admin.map(async (t) => [t, await raw('GET', t, auth)] as const))
    for (const [target, r] of results) {
      expect({ target, ok: [400, 403, 404].includes(r.status) }).toEqual({ target, ok: true })
      expectNoData(r, target)
    }
    const exactlyForbidden = [
      '/v1/keys', '//v1/keys', '///v1//keys', '/v1/./keys', '/v1/keys/', '/v1/keys?x=1', '/v1/users', '//v1/users', '/v1/./users',
      `/v1/users/${USER_ID}`, `/v1/users/${USER_ID}/usage`, `/v1/keys/${keyId}`, '/v1/pricing', '/v1/usage', '/v1/usage/summary', '/v1/audit',
      `http://127.0.0.1:${port}/v1/keys`,
    ]
    for (const [target, r] of results.filter(([t]) => exactlyForbidden.includes(t))) {
      expect({ target, status: r.status }).toEqual({ target, status: 403 })
      expect(r.body).toContain('admin_only')
    }
    // The same key in x-api-key is no different.
    for (const target of ['/v1/keys', '//v1/users', '/v1/%6beys']) {
      const r = await raw('GET', target, { 'x-api-key': virtualKey })
      expect({ target, ok: [403, 404].includes(r.status) }).toEqual({ target, ok: true })
      expectNoData(r, target)
    }
  })

  test('cannot write through admin paths either, whatever the body', async () => {
    const auth = { Authorization: `Bearer ${virtualKey}`, 'Content-Type': 'application/json' }
    for (const [method, target, body] of [
      ['POST', '/v1/keys', JSON.stringify({ user_id: USER_ID })],
      ['POST', '//v1/keys', JSON.stringify({ user_id: USER_ID })],
      ['PATCH', `/v1/users/${USER_ID}`, JSON.stringify({ max_budget: 1e6 })],
      ['PATCH', `/v1/./users/${USER_ID}`, JSON.stringify({ max_budget: 1e6 })],
      ['POST', '/v1/users', '{malformed'],
      ['DELETE', `/v1/keys/KEYID`, ''],
    ] as const) {
      const t = target.replace('KEYID', keyId)
      const r = await raw(method, t, auth, body)
      expect({ method, t, status: r.status }).toEqual({ method, t, status: 403 })
      expectNoData(r, `${method} ${t}`)
    }
    expect((await gw.admin('GET', `/v1/users/${USER_ID}`)).body.max_budget).toBe(5)
    expect((await gw.admin('GET', `/v1/keys/${keyId}`)).body.revoked_at).toBeNull()
    const keys = await gw.admin('GET', `/v1/keys?user_id=${USER_ID}`)
    expect(keys.body.data.length).toBe(1)
  })
})

describe('the master key and the real credentials', () => {
  test('odd paths with the master key never crash the server (no 5xx)', async () => {
    const auth = { Authorization: `Bearer ${MASTER_KEY}` }
    const results = await Promise.all(targets().map(async (t) => [t, await raw('GET', t, auth)] as const))
    for (const [target, r] of results) expect({ target, ok: r.status >= 200 && r.status < 500 }).toEqual({ target, ok: true })
    const double = results.find(([t]) => t === '//v1/keys')![1]
    expect(double.status).toBeGreaterThanOrEqual(200)
    expect(double.status).toBeLessThan(500)
    // …and it is still serving afterwards.
    expect((await raw('GET', '/health')).status).toBe(200)
  })

  test('Authorization: Bearer <master> on /v1/users: 200 with the users', async () => {
    const r = await raw('GET', '/v1/users', { Authorization: `Bearer ${MASTER_KEY}` })
    expect(r.status).toBe(200)
    expect(r.body).toContain(USER_ID)
    // The scheme is case-insensitive; the master key also works in x-api-key.
    expect((await raw('GET', '/v1/users', { Authorization: `bearer ${MASTER_KEY}` })).status).toBe(200)
    expect((await raw('GET', '/v1/users', { 'x-api-key': MASTER_KEY })).status).toBe(200)
  })

  test('a virtual key in x-api-key works for /v1/chat/completions (200)', async () => {
    const body = JSON.stringify({ model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'hi' }] })
    const r = await raw('POST', '/v1/chat/completions', { 'x-api-key': virtualKey, 'Content-Type': 'application/json' }, body)
    expect(r.status).toBe(200)
    expect(r.body).toContain('Hello from the mock provider.')
    const bearer = await raw('POST', '/v1/chat/completions', { Authorization: `Bearer ${virtualKey}`, 'Content-Type': 'application/json' }, body)
    expect(bearer.status).toBe(200)
    // Not leaked to the provider: it got the gateway's own upstream credential.
    expect(mock.calls.at(-1)?.headers.authorization).toBe('Bearer sk-upstream-secret-0123456789')
    expect(JSON.stringify(mock.calls)).not.toContain(virtualKey)
  })

  test('the public pages stay exactly public: no key needed for /health and /docs, but a lookalike is not public', async () => {
    expect((await raw('GET', '/health')).status).toBe(200)
    expect((await raw('GET', '/docs')).status).toBe(200)
    expect((await raw('HEAD', '/health')).status).toBe(200)
    // A query is not a path: this is /health, and answers only what /health says.
    const query = await raw('GET', '/health?/../v1/keys')
    expect(query.status).toBe(200)
    expect(query.body).toContain('{"status":"ok"}')
    expectNoData(query, '/health?/../v1/keys')
    for (const target of ['/health/', '/Health', '/docs/json/../../v1/users', '/docs/assets/x/../../../v1/users', '/metrics/../v1/users']) {
      const r = await raw('GET', target)
      expect({ target, ok: [400, 401, 404].includes(r.status) }).toEqual({ target, ok: true })
      expectNoData(r, target)
    }
  })
})
