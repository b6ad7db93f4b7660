import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { createLogger } from '../src/log/logger'
import { Counter, Histogram } from '../src/metrics/prometheus'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { MASTER_KEY, startTestGateway, type TestGateway } from './support/gateway'

const TOKEN = 'metrics-token-0123456789'
let mock: MockProvider
let gw: TestGateway
let secret: string

const chat = (model: string) =>
  fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'count me' }], max_tokens: 20 }),
  })
const scrape = (credential?: string) =>
  fetch(`${gw.url}/metrics`, { headers: credential ? { authorization: `Bearer ${credential}` } : {} })

beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock, config: { metrics_enabled: true, metrics_token: TOKEN, log_level: 'silent' } })
  secret = (await gw.userWithKey({ id: 'metered', max_budget: 0.0001 })).secret
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})

describe('GET /metrics', () => {
  test('answers the master key and the metrics token, nobody else', async () => {
    expect((await scrape()).status).toBe(401)
    expect((await scrape(secret)).status).toBe(401)
    expect((await scrape(MASTER_KEY)).status).toBe(200)
    const res = await scrape(TOKEN)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toContain('text/plain')
  })

  test('counts requests by route and status, tokens and cost by model, refusals by code, open holds', async () => {
    expect((await chat('mock:gpt-mock')).status).toBe(200)
    expect((await chat('mock:unpriced')).status).toBe(402)
    // The budget ($0.0001) fits one more hold of this size at most; keep asking until it refuses.
    let refused = 0
    for (let i = 0; i < 5 && refused === 0; i++) if ((await chat('mock:gpt-mock')).status === 402) refused++
    expect(refused).toBe(1)

    const text = await (await scrape(TOKEN)).text()
    expect(text).toMatch(/tollgate_http_requests_total\{route="\/v1\/chat\/completions",method="POST",status="200"\} [1-9]/)
    expect(text).toMatch(/tollgate_http_requests_total\{route="\/v1\/chat\/completions",method="POST",status="402"\} [2-9]/)
    expect(text).toMatch(/tollgate_refusals_total\{code="pricing_required"\} 1\n/)
    expect(text).toMatch(/tollgate_refusals_total\{code="budget_exceeded"\} 1\n/)
    expect(text).toMatch(/tollgate_tokens_total\{model="mock:gpt-mock",kind="completion"\} [1-9]/)
    expect(text).toMatch(/tollgate_cost_usd_total\{model="mock:gpt-mock"\} 0\.0000[1-9]/)
    expect(text).toMatch(/tollgate_settlements_total\{status="ok"\} [1-9]/)
    expect(text).toMatch(/tollgate_upstream_duration_seconds_count\{provider="mock"\} [1-9]/)
    expect(text).toContain('tollgate_http_request_duration_seconds_bucket{route="/v1/chat/completions",le="0.005"}')
    expect(text).toContain('tollgate_holds_open 0\n')
    expect(text).toContain('tollgate_reservations_open 0\n')
    expect(text).not.toContain(secret)
    expect(text).not.toContain(MASTER_KEY)
  })

  test('is absent unless enabled', async () => {
    const off = await startTestGateway({ mock, config: { log_level: 'silent' } })
    try {
      const res = await fetch(`${off.url}/metrics`, { headers: off.master })
      expect(res.status).toBe(404)
    } finally {
      await off.stop()
    }
  })
})

describe('series stay bounded whatever clients send', () => {
  const seriesLines = (text: string) => text.split('\n').filter((l) => l.startsWith('tollgate_'))

  test('thousands of random model names on a pricing-exempt route, and odd methods, add a handful of series, under `other`', async () => {
    const { secret: key } = await gw.userWithKey({ id: 'prober' })
    // One of each first, so that the baseline already has every series a legitimate request makes.
    const moderate = (model: string) =>
      fetch(`${gw.url}/v1/moderations`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model, input: 'probe' }),
      })
    expect((await moderate('mock:omni-moderation-latest')).status).toBe(200)
    expect((await fetch(`${gw.url}/v1/models`, { method: 'PROPFIND', headers: { authorization: `Bearer ${key}` } })).status).toBe(404)
    await gw.settled()
    const before = seriesLines(await (await scrape(TOKEN)).text()).length

    for (let batch = 0; batch < 60; batch++) {
      const answers = await Promise.all(Array.from({ length: 25 }, (_, i) => moderate(`mock:random-${batch}-${i}-${crypto.randomUUID()}`)))
      expect(answers.every((a) => a.status === 200)).toBe(true)
    }
    for (const method of ['MKCOL', 'PURGE', 'LINK', 'UNLINK', 'COPY', 'MOVE', 'LOCK', 'UNLOCK', 'REPORT', 'SEARCH'])
      await fetch(`${gw.url}/v1/models`, { method, headers: { authorization: `Bearer ${key}` } })
    await gw.settled()

    const text = await (await scrape(TOKEN)).text()
    expect(text).not.toContain('random-')
    expect(text).toContain('tollgate_tokens_total{model="other",kind="prompt"}')
    expect(text).not.toContain('method="MKCOL"')
    expect(seriesLines(text).length - before).toBeLessThan(100)
    // A configured model keeps its own label.
    expect(text).toMatch(/tollgate_cost_usd_total\{model="mock:gpt-mock"\} /)
  })
})

describe('structured logs', () => {
  test('one JSON line per call at or above the level, nothing below it', () => {
    const lines: string[] = []
    const log = createLogger('info', (line) => lines.push(line))
    log.log('debug', 'hidden')
    log.log('info', 'request', { request_id: 'r1', status: 200 })
    log.log('error', 'boom')
    expect(lines.length).toBe(2)
    const first = JSON.parse(lines[0]!)
    expect(first).toMatchObject({ level: 'info', msg: 'request', request_id: 'r1', status: 200 })
    expect(Date.parse(first.time)).toBeGreaterThan(0)
    expect(lines[0]!.endsWith('\n')).toBe(true)
    expect(createLogger('silent', (l) => lines.push(l)).enabled('error')).toBe(false)
  })

  test('a gateway at info writes one line per request with ids and no secrets', async () => {
    const proc = await import('./support/gateway').then((m) => m.spawnGateway({ mock, env: { TOLLGATE_LOG_LEVEL: 'info' } }))
    try {
      const { secret: key, keyId } = await proc.userWithKey({ id: 'logged' })
      await fetch(`${proc.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'a secret prompt' }] }),
      })
      await proc.settled()
      // Log lines leave the gateway once per turn and cross a pipe: wait for this one, within a bound.
      const requestLine = () =>
        proc.output().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)).find((l) => l.route === '/v1/chat/completions')
      for (const deadline = Date.now() + 5_000; !requestLine() && Date.now() < deadline; ) await Bun.sleep(10)
      const line = requestLine()
      expect(line).toMatchObject({ level: 'info', msg: 'request', method: 'POST', status: 200, key_id: keyId, user_id: 'logged' })
      expect(proc.output()).not.toContain(key)
      expect(proc.output()).not.toContain(MASTER_KEY)
      expect(proc.output()).not.toContain('a secret prompt')
    } finally {
      await proc.stop()
    }
  })
})

describe('the Prometheus text', () => {
  test('histogram buckets are cumulative, +Inf counts everything; label values are escaped; series are kept apart by label values', () => {
    const h = new Histogram('h_seconds', 'help', [0.1, 1])
    for (const v of [0.05, 0.1, 0.5, 2]) h.observe({ route: 'a"b\\c' }, v)
    h.observe({ route: 'other' }, 0.5)
    const text = h.render()
    expect(text).toContain('h_seconds_bucket{route="a\\"b\\\\c",le="0.1"} 2\n')
    expect(text).toContain('h_seconds_bucket{route="a\\"b\\\\c",le="1"} 3\n')
    expect(text).toContain('h_seconds_bucket{route="a\\"b\\\\c",le="+Inf"} 4\n')
    expect(text).toContain('h_seconds_sum{route="a\\"b\\\\c"} 2.65\n')
    expect(text).toContain('h_seconds_bucket{route="other",le="0.1"} 0\n')
    expect(text).toContain('h_seconds_count{route="other"} 1\n')

    const c = new Counter('c_total', 'help')
    c.inc({ model: 'm', kind: 'prompt' }, 3)
    c.inc({ model: 'm', kind: 'prompt' }, 4)
    c.inc({ model: 'm', kind: 'completion' })
    expect(c.render()).toBe('# HELP c_total help\n# TYPE c_total counter\nc_total{model="m",kind="prompt"} 7\nc_total{model="m",kind="completion"} 1\n')

    // Counted in whole micro-units, divided once when scraped: 0.1 + 0.2 in floats would read 0.30000000000000004.
    const usd = new Counter('usd_total', 'help', { perUnit: 1_000_000 })
    usd.inc({}, 100_000)
    usd.inc({}, 200_000)
    expect(usd.render()).toContain('usd_total 0.3\n')
  })

  test('past its bound of series, a metric counts every new label set under `other`, and none is lost', () => {
    const c = new Counter('c_total', 'help', { maxSeries: 10 })
    const h = new Histogram('h_seconds', 'help', [1], 10)
    for (let i = 0; i < 5_000; i++) {
      c.inc({ route: `/r${i}`, method: 'GET' })
      h.observe({ route: `/r${i}` }, 0.5)
    }
    const counted = c.render().split('\n').filter((l) => l.startsWith('c_total{'))
    expect(counted.length).toBe(11)
    expect(counted).toContain('c_total{route="other",method="other"} 4990')
    expect(h.render()).toContain('h_seconds_count{route="other"} 4990\n')
    expect(h.render().split('\n').filter((l) => l.startsWith('h_seconds_count')).length).toBe(11)
  })
})
