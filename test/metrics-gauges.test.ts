import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { MASTER_KEY, startTestGateway, type TestGateway } from './support/gateway'

/**
 * Mutation guard: the figures operators alert on, each checked against what the
 * gateway actually holds, and /metrics refusing every credential but the master key when no metrics token is set.
 */
const TOKEN = 'metrics-token-le-0123456789'
let mock: MockProvider
let gw: TestGateway
let secret: string

const gauge = (text: string, name: string) => {
  const m = text.match(new RegExp(`^${name} (\\S+)$`, 'm'))
  if (!m) throw new Error(`no ${name} in the scrape`)
  return Number(m[1])
}
const scrape = async (g: TestGateway = gw) => {
  const res = await fetch(`${g.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })
  expect(res.status).toBe(200)
  return res.text()
}
const chat = (key: string) =>
  fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'hold me' }], max_tokens: 50_000 }),
  })

beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock, config: { metrics_enabled: true, metrics_token: TOKEN, upstream_timeout_ms: 1_500, log_level: 'silent' } })
  secret = (await gw.userWithKey({ id: 'le-gauges' })).secret
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})

describe('gauges of holds in flight', () => {
  test('holds_open, reservations_open and reserved_usd show the hold of a call in flight, and drop back when it ends', async () => {
    const before = await scrape()
    expect(gauge(before, 'tollgate_holds_open')).toBe(0)
    expect(gauge(before, 'tollgate_reserved_usd')).toBe(0)

    mock.queue('hang')
    // The provider never answers: the call ends at the upstream timeout (1.5 s), its hold charged then.
    const pending = chat(secret)
    for (const deadline = Date.now() + 5_000; mock.calls.length === 0 && Date.now() < deadline; ) await Bun.sleep(10)
    expect(mock.calls.length).toBe(1)

    const held = gw.query<{ n: number; amount: number }>('SELECT count(*) AS n, coalesce(sum(amount), 0) AS amount FROM reservations')[0]!
    expect(held.n).toBe(1)
    expect(held.amount).toBeGreaterThan(0)
    const during = await scrape()
    expect(gauge(during, 'tollgate_holds_open')).toBe(1)
    expect(gauge(during, 'tollgate_reservations_open')).toBe(1)
    // The hold in USD, as the ledger keeps it in micro-USD.
    expect(gauge(during, 'tollgate_reserved_usd')).toBeCloseTo(held.amount / 1e6, 9)

    expect((await pending).status).toBeGreaterThanOrEqual(500)
    await gw.settled()
    for (const deadline = Date.now() + 5_000; gauge(await scrape(), 'tollgate_holds_open') !== 0 && Date.now() < deadline; ) await Bun.sleep(20)
    const after = await scrape()
    expect(gauge(after, 'tollgate_holds_open')).toBe(0)
    expect(gauge(after, 'tollgate_reservations_open')).toBe(0)
    expect(gauge(after, 'tollgate_reserved_usd')).toBe(0)
  })
})

describe('tokens by kind', () => {
  test('cached prompt tokens a provider reports are counted under kind="cached"', async () => {
    mock.options.cachedTokens = 7
    try {
      expect((await chat(secret)).status).toBe(200)
    } finally {
      mock.options.cachedTokens = undefined
    }
    await gw.settled()
    const text = await scrape()
    expect(text).toMatch(/^tollgate_tokens_total\{model="mock:gpt-mock",kind="cached"\} 7$/m)
  })

  test('tokens by kind add up to the usage rows: prompt, completion and cached each where it belongs', async () => {
    await gw.settled()
    const sums = gw.query<{ p: number; c: number; k: number }>(
      "SELECT sum(prompt_tokens) AS p, sum(completion_tokens) AS c, sum(cached_tokens) AS k FROM usage WHERE model = 'mock:gpt-mock'",
    )[0]!
    expect(sums.p).not.toBe(sums.c)
    const text = await scrape()
    const kind = (k: string) => Number(text.match(new RegExp(`^tollgate_tokens_total\\{model="mock:gpt-mock",kind="${k}"\\} (\\S+)$`, 'm'))?.[1])
    expect({ prompt: kind('prompt'), completion: kind('completion'), cached: kind('cached') }).toEqual({ prompt: sums.p, completion: sums.c, cached: sums.k })
  })
})

describe('/metrics without a metrics token', () => {
  test('answers the master key only: a user key or any other bearer is refused', async () => {
    const g = await startTestGateway({ mock, config: { metrics_enabled: true, log_level: 'silent' } })
    try {
      const { secret: key } = await g.userWithKey({ id: 'le-scraper' })
      const as = (credential: string) => fetch(`${g.url}/metrics`, { headers: { authorization: `Bearer ${credential}` } })
      expect((await as(key)).status).toBe(401)
      expect((await as('some-guessed-token-0123456789')).status).toBe(401)
      expect((await as(MASTER_KEY)).status).toBe(200)
    } finally {
      await g.stop()
    }
  })
})
