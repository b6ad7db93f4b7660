/** The admin routes the console's pages read (all also in /docs), and the /ui page and its assets. */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { MAX_UNPRICED_MODELS } from '../src/records/refusals'
import { startTestGateway, type TestGateway } from './support/gateway'
import { startMockProvider, type MockProvider } from './support/mock-provider'

let mock: MockProvider
let gw: TestGateway
let secret: string
let keyId: string

const chat = (key: string, model = 'mock:gpt-mock', extra: Record<string, unknown> = {}) =>
  fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hello there' }], ...extra }),
  }).then(async (r) => ({ status: r.status, body: await r.json() }))

beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock, config: { pricing: { 'mock:gpt-mock': { input_per_million: 1, output_per_million: 2 }, 'mock:gpt-other': { input_per_million: 3, output_per_million: 4 } } } })
  ;({ secret, keyId } = await gw.userWithKey({ id: 'ov-a', max_budget: 10 }))
  const b = await gw.userWithKey({ id: '@ov-b' })
  for (let i = 0; i < 3; i++) expect((await chat(secret)).status).toBe(200)
  expect((await chat(b.secret, 'mock:gpt-other')).status).toBe(200)
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})

describe('overview aggregates', () => {
  test('spend today and this month, open holds, top users and models', async () => {
    const r = await gw.admin('GET', '/v1/usage/overview')
    expect(r.status).toBe(200)
    expect(r.body.today.requests).toBe(4)
    expect(r.body.month.requests).toBe(4)
    expect(r.body.today.cost).toBeGreaterThan(0)
    expect(r.body.open_holds).toEqual({ count: 0, amount: 0 })
    expect(r.body.top_users.map((u: any) => u.name).sort()).toEqual(['@ov-b', 'ov-a'])
    expect(r.body.top_models.map((m: any) => m.name).sort()).toEqual(['mock:gpt-mock', 'mock:gpt-other'])
  })

  test('the daily series, by model or by user, under the usage filters', async () => {
    const today = new Date().toISOString().slice(0, 10)
    const byModel = await gw.admin('GET', '/v1/usage/daily?by=model&days=7')
    expect(byModel.status).toBe(200)
    expect(byModel.body.days.length).toBe(7)
    expect(byModel.body.days.at(-1)).toBe(today)
    const names = byModel.body.series.map((s: any) => s.name).sort()
    expect(names).toEqual(['mock:gpt-mock', 'mock:gpt-other'])
    const overview = await gw.admin('GET', '/v1/usage/overview')
    const total = byModel.body.series.reduce((sum: number, s: any) => sum + s.cost.at(-1), 0)
    expect(total).toBeCloseTo(overview.body.today.cost, 9)
    const byUser = await gw.admin('GET', `/v1/usage/daily?by=user&key_id=${keyId}`)
    expect(byUser.body.series.map((s: any) => s.name)).toEqual(['ov-a'])
  })

  test('refusals are counted per day and kind: 402 budget, 402 pricing, 403, 429', async () => {
    const poor = await gw.userWithKey({ id: 'ov-poor', max_budget: 0 })
    const narrow = await gw.userWithKey({ id: 'ov-narrow' }, { allowed_models: ['mock:gpt-other'], rpm_limit: 1 })
    expect((await chat(poor.secret)).status).toBe(402)
    expect((await chat(secret, 'mock:never-priced')).status).toBe(402)
    expect((await chat(narrow.secret)).status).toBe(403)
    expect((await chat(narrow.secret)).status).toBe(429)
    const r = await gw.admin('GET', '/v1/audit/refusals?days=3')
    expect(r.status).toBe(200)
    const last = (k: string) => r.body.series[k].at(-1)
    expect([last('budget'), last('pricing'), last('forbidden'), last('rate_limited')]).toEqual([1, 1, 1, 1])
    expect(r.body.codes).toMatchObject({ budget_exceeded: 1, pricing_required: 1, model_not_allowed: 1, rate_limit_exceeded: 1 })
  })
})

describe('unpriced models asked for', () => {
  test('recorded with a count, shown until priced', async () => {
    for (let i = 0; i < 2; i++) expect((await chat(secret, 'mock/gpt-wanted')).status).toBe(402)
    let r = await gw.admin('GET', '/v1/pricing/unpriced')
    const wanted = r.body.data.find((u: any) => u.model === 'mock:gpt-wanted')
    expect(wanted).toMatchObject({ requests: 2, priced: false })
    expect((await gw.admin('POST', '/v1/pricing', { model: 'mock:gpt-wanted', input_per_million: 1, output_per_million: 1 })).status).toBe(201)
    r = await gw.admin('GET', '/v1/pricing/unpriced')
    expect(r.body.data.some((u: any) => u.model === 'mock:gpt-wanted')).toBe(false)
    r = await gw.admin('GET', '/v1/pricing/unpriced?include_priced=true')
    expect(r.body.data.find((u: any) => u.model === 'mock:gpt-wanted').priced).toBe(true)
  })

  test('an unknown provider is not recorded, and the record is bounded whatever names clients send', async () => {
    expect((await chat(secret, 'nosuch:model')).status).toBe(404)
    const names = Array.from({ length: MAX_UNPRICED_MODELS + 20 }, (_, i) => `mock:flood-${i}`)
    for (let i = 0; i < names.length; i += 50) await Promise.all(names.slice(i, i + 50).map((n) => chat(secret, n)))
    await gw.settled()
    const [{ n }] = gw.query('SELECT count(*) AS n FROM unpriced_models')
    expect(n).toBe(MAX_UNPRICED_MODELS)
    expect(gw.query("SELECT * FROM unpriced_models WHERE model LIKE 'nosuch%'").length).toBe(0)
  })
})

describe('usage filters and CSV export', () => {
  test('usage filters by status', async () => {
    const ok = await gw.admin('GET', '/v1/usage?status=ok&user_id=ov-a')
    expect(ok.body.data.length).toBe(3)
    const errors = await gw.admin('GET', '/v1/usage?status=error&user_id=ov-a')
    expect(errors.body.data.length).toBe(0)
  })

  test('the CSV has every matching row, and a client-chosen value that a spreadsheet would run stays text', async () => {
    const res = await fetch(`${gw.url}/v1/usage/csv`, { headers: gw.master })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toStartWith('text/csv')
    const lines = (await res.text()).trimEnd().split('\r\n')
    expect(lines[0]).toStartWith('id,request_id,created_at,user_id,key_id,model')
    expect(lines.length).toBe(1 + 4)
    expect(lines.some((l) => l.includes(`"'@ov-b"`))).toBe(true)
    const one = await fetch(`${gw.url}/v1/usage/csv?user_id=ov-a&model=mock:gpt-mock`, { headers: gw.master })
    expect((await one.text()).trimEnd().split('\r\n').length).toBe(1 + 3)
  })
})

describe('/ui', () => {
  test('the page and its bundled assets are served without credentials under the console CSP', async () => {
    const page = await fetch(`${gw.url}/ui`)
    expect(page.status).toBe(200)
    const csp = page.headers.get('content-security-policy')!
    expect(csp).toContain("script-src 'self'")
    expect(csp).not.toContain('unsafe-inline')
    expect(csp).not.toContain('unsafe-eval')
    // Kept out of the back/forward cache, where a key's secret shown once would come back with the Back button.
    expect(page.headers.get('cache-control')).toBe('no-store')
    const html = await page.text()
    expect(html).not.toMatch(/<script>|<script [^>]*>[^<]/)
    expect(html).not.toMatch(/https?:\/\//)
    for (const asset of ['app.js', 'app.css']) {
      const r = await fetch(`${gw.url}/ui/assets/${asset}`)
      expect(r.status).toBe(200)
      const body = await r.text()
      expect(body.length).toBeGreaterThan(1000)
      expect(body).not.toMatch(/https?:\/\/(fonts|cdn|unpkg)/)
      const again = await fetch(`${gw.url}/ui/assets/${asset}`, { headers: { 'if-none-match': r.headers.get('etag')! } })
      expect(again.status).toBe(304)
    }
    expect((await fetch(`${gw.url}/ui/assets/nope.js`)).status).toBe(404)
  })

  test('the new routes are in /docs', async () => {
    const spec: any = await (await fetch(`${gw.url}/docs/json`)).json()
    for (const path of ['/v1/session', '/v1/key', '/v1/key/usage', '/v1/usage/overview', '/v1/usage/daily', '/v1/usage/csv', '/v1/audit/refusals', '/v1/pricing/unpriced'])
      expect(Object.keys(spec.paths)).toContain(path)
  })
})
