import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'

let mock: MockProvider
let gw: TestGateway
let secret: string

const chat = (model: string, key = secret) =>
  fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'price me' }], max_tokens: 10 }),
  })
const lastUsage = async () => {
  await gw.settled()
  return gw.query('SELECT model, cost, price_id, prompt_tokens, completion_tokens, cached_tokens FROM usage ORDER BY id DESC LIMIT 1')[0]
}

beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock })
  secret = (await gw.userWithKey({ id: 'pricing', max_budget: 100 })).secret
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})
beforeEach(() => mock.reset())

describe('the pricing API', () => {
  test('config seeds are listed in USD; GET one, unknown → 404', async () => {
    const list = await gw.admin('GET', '/v1/pricing')
    expect(list.status).toBe(200)
    expect(list.body.data).toContainEqual(expect.objectContaining({ model: 'mock:gpt-mock', input_per_million: 1, output_per_million: 2 }))
    const one = await gw.admin('GET', `/v1/pricing/${encodeURIComponent('mock:gpt-mock')}`)
    expect(one.body).toMatchObject({ model: 'mock:gpt-mock', cached_input_per_million: null, per_request: null })
    expect((await gw.admin('GET', '/v1/pricing/mock%3Anope')).status).toBe(404)
  })

  test('a new price applies from its creation on; history is kept and each usage row cites the price it used', async () => {
    const first = (await gw.admin('POST', '/v1/pricing', { model: 'mock:history', input_per_million: 10, output_per_million: 20 })).body
    expect((await chat('mock:history')).status).toBe(200)
    const before = await lastUsage()
    expect(before.price_id).toBe(first.id)
    expect(before.cost).toBe(Math.ceil(before.prompt_tokens * 10 + before.completion_tokens * 20))

    const second = (await gw.admin('POST', '/v1/pricing', { model: 'mock/history', input_per_million: 100, output_per_million: 200 })).body
    expect(second.model).toBe('mock:history') // provider/model is stored under its canonical name
    expect(second.id).not.toBe(first.id)
    expect((await chat('mock:history')).status).toBe(200)
    const after = await lastUsage()
    expect(after.price_id).toBe(second.id)
    expect(after.cost).toBe(Math.ceil(after.prompt_tokens * 100 + after.completion_tokens * 200))
    // The first row still exists for the usage rows that cite it.
    expect(gw.query('SELECT count(*) AS n FROM prices WHERE model = ?', 'mock:history')[0].n).toBe(2)
  })

  test('DELETE unprices the model: the next request is refused with 402 and the provider hears nothing', async () => {
    await gw.admin('POST', '/v1/pricing', { model: 'mock:doomed', input_per_million: 1, output_per_million: 1 })
    expect((await chat('mock:doomed')).status).toBe(200)
    const del = await gw.admin('DELETE', '/v1/pricing/mock%3Adoomed')
    expect(del.status).toBe(200)
    expect(del.body.deleted).toBe(true)
    const calls = mock.calls.length
    const res = await chat('mock:doomed')
    expect(res.status).toBe(402)
    expect(((await res.json()) as any).error.code).toBe('pricing_required')
    expect(mock.calls.length).toBe(calls)
    expect((await gw.admin('GET', '/v1/pricing/mock%3Adoomed')).status).toBe(404)
  })

  test('an explicit 0/0 price serves the model free', async () => {
    await gw.admin('POST', '/v1/pricing', { model: 'mock:free', input_per_million: 0, output_per_million: 0 })
    expect((await chat('mock:free')).status).toBe(200)
    expect((await lastUsage()).cost).toBe(0)
  })

  test('cached input tokens are billed at the cached rate when one is set, else at the input rate', async () => {
    mock.options = { ...mock.options, cachedTokens: 4 }
    await gw.admin('POST', '/v1/pricing', { model: 'mock:cached', input_per_million: 10, output_per_million: 0, cached_input_per_million: 1 })
    expect((await chat('mock:cached')).status).toBe(200)
    const row = await lastUsage()
    expect(row.cached_tokens).toBe(4)
    expect(row.cost).toBe((row.prompt_tokens - 4) * 10 + 4 * 1)

    await gw.admin('POST', '/v1/pricing', { model: 'mock:nocache', input_per_million: 10, output_per_million: 0 })
    expect((await chat('mock:nocache')).status).toBe(200)
    const plain = await lastUsage()
    expect(plain.cost).toBe(plain.prompt_tokens * 10)
  })

  test('costs round up to the next micro-USD', async () => {
    // $0.0001 per million tokens: any non-zero use costs a fraction of a micro-USD, billed as 1.
    await gw.admin('POST', '/v1/pricing', { model: 'mock:tiny', input_per_million: 0.0001, output_per_million: 0.0001 })
    expect((await chat('mock:tiny')).status).toBe(200)
    expect((await lastUsage()).cost).toBe(1)
  })

  test('invalid price bodies are refused naming the field; a virtual key cannot set prices', async () => {
    const bad = await gw.admin('POST', '/v1/pricing', { model: 'no-provider', input_per_million: 1, output_per_million: 1 })
    expect(bad.status).toBe(400)
    expect(bad.body.error.message).toContain('model')
    const negative = await gw.admin('POST', '/v1/pricing', { model: 'mock:x', input_per_million: -1, output_per_million: 1 })
    expect(negative.body.error.message).toContain('input_per_million')
    const res = await fetch(`${gw.url}/v1/pricing`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'mock:gpt-mock', input_per_million: 0, output_per_million: 0 }),
    })
    expect(res.status).toBe(403)
  })
})

describe('require-pricing off', () => {
  test('unpriced models are served and recorded at $0, with no price cited', async () => {
    const open = await startTestGateway({ mock, config: { require_pricing: false } })
    try {
      const { secret: key } = await open.userWithKey({ id: 'lenient', max_budget: 1 })
      const res = await fetch(`${open.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'mock:anything', messages: [{ role: 'user', content: 'hi' }] }),
      })
      expect(res.status).toBe(200)
      await open.settled()
      expect(open.query("SELECT cost, price_id FROM usage WHERE model = 'mock:anything'")).toEqual([{ cost: 0, price_id: null }])
    } finally {
      await open.stop()
    }
  })
})
