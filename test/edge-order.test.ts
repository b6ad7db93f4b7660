/**
 * The order of the edge, as seen from outside: whatever refuses a request, the per-IP limiter has counted
 * it, the answer carries every header the SPEC wants (request id, security, rate limit, and CORS for an
 * allowed origin), and the request is logged and measured under the route it was meant for.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { connect } from 'node:net'
import { MASTER_KEY, spawnGateway, startTestGateway, type SpawnedGateway, type TestGateway } from './support/gateway'

const ORIGIN = 'https://app.example.com'
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const MAX_BODY = 1024
/** What Bun's own limit used to be for this gateway: max(2 × limit, limit + 16 MiB). */
const OLD_BUN_LIMIT = MAX_BODY + 16 * 1024 * 1024

/** max_body_bytes 1024, a rate limit no test here reaches, metrics on */
let small: TestGateway
/** CORS for ORIGIN, 2 requests per minute per IP */
let cors: TestGateway

beforeAll(async () => {
  ;[small, cors] = await Promise.all([
    startTestGateway({ config: { max_body_bytes: MAX_BODY, rate_limit_per_min: 1000, metrics_enabled: true } }),
    startTestGateway({ config: { cors_allowed_origins: [ORIGIN], rate_limit_per_min: 2 } }),
  ])
})
afterAll(async () => {
  await Promise.all([small, cors].map((g) => g?.stop()))
})

interface RawAnswer {
  status: number
  headers: Headers
  body: string
}

/**
 * Declares `declared` bytes but sends only a few: a client about to upload far too much. fetch would
 * send the whole body (or replace the length), so this speaks HTTP/1.1 on a socket.
 */
function declareHugeBody(url: string, path: string, declared: number): Promise<RawAnswer> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname)
    let raw = ''
    const timer = setTimeout(() => socket.destroy(new Error(`no answer; received so far: ${JSON.stringify(raw)}`)), 5_000)
    socket.on('connect', () =>
      socket.write(`POST ${path} HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/json\r\nContent-Length: ${declared}\r\n\r\n{"model":`),
    )
    socket.on('data', (d) => {
      raw += d.toString('latin1')
      const end = raw.indexOf('\r\n\r\n')
      if (end === -1) return
      const [statusLine, ...lines] = raw.slice(0, end).split('\r\n')
      const headers = new Headers(lines.map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()] as [string, string]))
      const length = Number(headers.get('content-length') ?? 0)
      if (raw.length - end - 4 < length) return
      clearTimeout(timer)
      socket.destroy()
      resolve({ status: Number(statusLine!.split(' ')[1]), headers, body: raw.slice(end + 4, end + 4 + length) })
    })
    socket.on('error', (e) => (clearTimeout(timer), reject(e)))
    socket.on('close', () => (clearTimeout(timer), reject(new Error(`closed; received: ${JSON.stringify(raw)}`))))
  })
}

/**
 * The request log row of one answer, once the write queue has committed it (it lingers a few ms). Not
 * through `settled()`: an admin read would use up the rate limits these tests count on.
 */
async function logRow(gw: TestGateway, requestId: string) {
  for (const deadline = Date.now() + 3_000; Date.now() < deadline; await Bun.sleep(20)) {
    const rows = gw.query('SELECT method, route, status, key_id FROM api_request_log WHERE request_id = ?', requestId)
    if (rows.length) return rows
  }
  return []
}

const rate = (h: Headers) => [h.get('x-ratelimit-limit'), h.get('x-ratelimit-remaining'), h.get('x-ratelimit-reset')]

describe('a body declared far larger than Bun\'s old limit', () => {
  test('gets our 413 (error shape, request id, security and rate-limit headers, a log row), not Bun\'s bare one', async () => {
    const declared = 4 * OLD_BUN_LIMIT
    const a = await declareHugeBody(small.url, '/v1/chat/completions', declared)
    expect(a.status).toBe(413)
    expect(JSON.parse(a.body).error).toMatchObject({ code: 'body_too_large', message: `Request body is larger than ${MAX_BODY} bytes.` })
    expect(a.headers.get('x-request-id')).toMatch(UUID)
    expect(a.headers.get('x-content-type-options')).toBe('nosniff')
    expect(a.headers.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'")
    expect(rate(a.headers)[0]).toBe('1000')
    expect(await logRow(small, a.headers.get('x-request-id')!)).toEqual([
      { method: 'POST', route: '/v1/chat/completions', status: 413, key_id: null },
    ])
  })
})

describe('the per-IP rate limit counts every request first', () => {
  test('413s for a declared length carry X-RateLimit-* and use up the allowance: the 4th request is a 429', async () => {
    // A separate gateway: `small`'s allowance is shared with the other tests of this file.
    const gw = await startTestGateway({ config: { max_body_bytes: MAX_BODY, rate_limit_per_min: 3 } })
    try {
      const remaining: Array<string | null> = []
      for (let i = 0; i < 3; i++) {
        const a = await declareHugeBody(gw.url, '/v1/embeddings', 10 * MAX_BODY)
        expect(a.status).toBe(413)
        const [limit, left, reset] = rate(a.headers)
        expect(limit).toBe('3')
        expect(Number(reset)).toBeGreaterThan(Date.now() / 1000 - 1)
        remaining.push(left ?? null)
      }
      expect(remaining).toEqual(['2', '1', '0'])
      const fourth = await declareHugeBody(gw.url, '/v1/embeddings', 10 * MAX_BODY)
      expect(fourth.status).toBe(429)
      expect(fourth.headers.get('retry-after')).toMatch(/^\d+$/)
    } finally {
      await gw.stop()
    }
  })
})

const preflight = (gw: TestGateway, origin: string, path = '/v1/chat/completions') =>
  fetch(gw.url + path, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
  })

describe('CORS preflights are requests like any other', () => {
  test('an allowed preflight is rate-limited and logged; a 401 and a 429 to the allowed origin carry CORS headers; another origin gets a 403', async () => {
    const first = await preflight(cors, ORIGIN)
    expect(first.status).toBe(204)
    expect(first.headers.get('access-control-allow-origin')).toBe(ORIGIN)
    expect(first.headers.get('access-control-allow-methods')).toContain('POST')
    expect(first.headers.get('x-request-id')).toMatch(UUID)
    expect(rate(first.headers).slice(0, 2)).toEqual(['2', '1'])
    expect(await logRow(cors, first.headers.get('x-request-id')!)).toEqual([
      { method: 'OPTIONS', route: '/v1/chat/completions', status: 204, key_id: null },
    ])

    // The browser's actual call, without a valid key: a 401 it can read.
    const refused = await fetch(`${cors.url}/v1/chat/completions`, { method: 'POST', headers: { origin: ORIGIN } })
    expect(refused.status).toBe(401)
    expect(refused.headers.get('access-control-allow-origin')).toBe(ORIGIN)
    expect(rate(refused.headers).slice(0, 2)).toEqual(['2', '0'])

    // Over the limit, the preflight itself is refused, with the headers that let the app read why.
    const limited = await preflight(cors, ORIGIN)
    expect(limited.status).toBe(429)
    expect(limited.headers.get('access-control-allow-origin')).toBe(ORIGIN)
    const exposed = (limited.headers.get('access-control-expose-headers') ?? '').split(',').map((h) => h.trim())
    expect(exposed).toEqual(expect.arrayContaining(['retry-after', 'x-ratelimit-remaining', 'x-request-id']))
    expect(((await limited.json()) as any).error.code).toBe('rate_limit_exceeded')
    expect(await logRow(cors, limited.headers.get('x-request-id')!)).toEqual([
      { method: 'OPTIONS', route: '/v1/chat/completions', status: 429, key_id: null },
    ])
  })

  test('a preflight from an origin not configured: 403 origin_not_allowed, no CORS header, logged', async () => {
    const gw = await startTestGateway({ config: { cors_allowed_origins: [ORIGIN] } })
    try {
      const res = await preflight(gw, 'https://evil.example.com')
      expect(res.status).toBe(403)
      expect([...res.headers.keys()].filter((h) => h.startsWith('access-control-'))).toEqual([])
      expect(((await res.json()) as any).error.code).toBe('origin_not_allowed')
      expect(await logRow(gw, res.headers.get('x-request-id')!)).toEqual([
        { method: 'OPTIONS', route: '/v1/chat/completions', status: 403, key_id: null },
      ])
      // An OPTIONS that is no preflight (no Access-Control-Request-Method) is an ordinary request: it needs a key.
      const plain = await fetch(`${gw.url}/v1/chat/completions`, { method: 'OPTIONS', headers: { origin: ORIGIN } })
      expect(plain.status).toBe(401)
      const keyed = await fetch(`${gw.url}/v1/chat/completions`, { method: 'OPTIONS', headers: { ...gw.master, origin: ORIGIN } })
      expect(keyed.status).toBe(404)
      expect(keyed.headers.get('access-control-allow-origin')).toBe(ORIGIN)
    } finally {
      await gw.stop()
    }
  })
})

describe('edge refusals in /metrics', () => {
  test('are labelled with the route pattern the path would have reached; only unknown paths are "unmatched"', async () => {
    const chat = await fetch(`${small.url}/v1/chat/completions`, { method: 'POST' })
    expect(chat.status).toBe(401)
    const user = await fetch(`${small.url}/v1/users/some-team`)
    expect(user.status).toBe(401)
    const unknown = await fetch(`${small.url}/v1/no-such-route/42`)
    expect(unknown.status).toBe(401)
    // A key's rpm_limit is refused after authentication, still before routing.
    const { secret } = await small.userWithKey({ id: 'metrics-team' }, { rpm_limit: 1 })
    for (const expected of [200, 429]) expect((await fetch(`${small.url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } })).status).toBe(expected)
    const text = await (await fetch(`${small.url}/metrics`, { headers: small.master })).text()
    expect(text).toContain('tollgate_http_requests_total{route="/v1/chat/completions",method="POST",status="413"} 1\n')
    expect(text).toContain('tollgate_http_requests_total{route="/v1/chat/completions",method="POST",status="401"} 1\n')
    expect(text).toContain('tollgate_http_requests_total{route="/v1/users/:id",method="GET",status="401"} 1\n')
    expect(text).toContain('tollgate_http_requests_total{route="/v1/models",method="GET",status="429"} 1\n')
    expect(text).toContain('tollgate_http_requests_total{route="unmatched",method="GET",status="401"} 1\n')
    expect(text).not.toContain('some-team')
    expect(text).not.toContain('no-such-route')
  })
})

describe('a log line for every request', () => {
  let gw: SpawnedGateway
  beforeAll(async () => {
    gw = await spawnGateway({ env: { TOLLGATE_LOG_LEVEL: 'info', TOLLGATE_METRICS_ENABLED: 'true' } })
  })
  afterAll(async () => {
    await gw?.stop()
  })

  const lines = () =>
    gw.output().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>)
  async function lineOf(requestId: string) {
    for (const deadline = Date.now() + 3_000; Date.now() < deadline; await Bun.sleep(10)) {
      const line = lines().find((l) => l.request_id === requestId)
      if (line) return line
    }
    return undefined
  }

  test('public routes too: a failed /metrics login, /docs; a healthy /health only at debug', async () => {
    const health = await fetch(`${gw.url}/health`)
    expect(health.status).toBe(200)
    const metrics = await fetch(`${gw.url}/metrics`, { headers: { authorization: 'Bearer not-the-master-key-0123456789abcdef' } })
    expect(metrics.status).toBe(401)
    const docs = await fetch(`${gw.url}/docs`)
    expect(docs.status).toBe(200)

    expect(await lineOf(metrics.headers.get('x-request-id')!)).toMatchObject({ level: 'info', msg: 'request', method: 'GET', route: '/metrics', status: 401 })
    expect(await lineOf(docs.headers.get('x-request-id')!)).toMatchObject({ level: 'info', route: '/docs', status: 200 })
    // Lines leave in order: at info, the health check's would be out before these two.
    expect(lines().some((l) => l.request_id === health.headers.get('x-request-id'))).toBe(false)
    // Public pages keep out of the API request log.
    await gw.settled()
    expect(gw.query("SELECT count(*) AS n FROM api_request_log WHERE route IN ('/metrics', '/docs', '/health')")).toEqual([{ n: 0 }])
    expect(gw.output()).not.toContain('not-the-master-key')
    expect(gw.output()).not.toContain(MASTER_KEY)
  })
})

test('at debug, a healthy /health is logged as well', async () => {
  const gw = await spawnGateway({ env: { TOLLGATE_LOG_LEVEL: 'debug' } })
  try {
    const id = (await fetch(`${gw.url}/health`)).headers.get('x-request-id')!
    let line: Record<string, unknown> | undefined
    for (const deadline = Date.now() + 3_000; !line && Date.now() < deadline; await Bun.sleep(10))
      line = gw.output().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)).find((l) => l.request_id === id)
    expect(line).toMatchObject({ level: 'debug', msg: 'request', route: '/health', status: 200 })
  } finally {
    await gw.stop()
  }
})
