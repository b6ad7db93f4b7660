/**
 * The pricing admin API beyond setting a price: paging, model names in the path, price history, and
 * amounts that the ledger's integer micro-USD can hold exactly.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { PriceBook } from '../src/pricing/price-book'
import { InvalidPrice } from '../src/pricing/price-amounts'
import { openDatabase } from '../src/db/open'
import { SqliteStore } from '../src/store/sqlite/store'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { MASTER_KEY, runGatewayExpectingExit, startTestGateway, tempDir, type TestGateway } from './support/gateway'

let mock: MockProvider
let gw: TestGateway
let secret: string

beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock, config: { aliases: { cheap: 'mock:gpt-mock' } } })
  secret = (await gw.userWithKey({ id: 'pricing-api', max_budget: 100 })).secret
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})

const chat = (model: string) =>
  fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'price me' }], max_tokens: 10 }),
  })
const setPrice = async (model: string, input: number, output = input, extra: Record<string, unknown> = {}) => {
  const res = await gw.admin('POST', '/v1/pricing', { model, input_per_million: input, output_per_million: output, ...extra })
  expect(res.status).toBe(201)
  return res.body
}

describe('GET /v1/pricing is a paginated list', () => {
  test('limit and cursor walk every price once, in model order; offset skips; limit=abc → 400', async () => {
    for (const m of ['mock:page-a', 'mock:page-b', 'mock:page-c']) await setPrice(m, 1)
    const all = (await gw.admin('GET', '/v1/pricing?limit=1000')).body
    expect(all.next_cursor).toBeNull()
    const models = all.data.map((p: any) => p.model)
    expect(models.length).toBeGreaterThanOrEqual(4)
    expect([...models].sort()).toEqual(models)

    const first = (await gw.admin('GET', '/v1/pricing?limit=1')).body
    expect(first.data).toHaveLength(1)
    expect(first.next_cursor).toBe(models[0])
    const walked: string[] = []
    let cursor: string | null = null
    do {
      const page: any = (await gw.admin('GET', `/v1/pricing?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)).body
      expect(page.data.length).toBeLessThanOrEqual(2)
      walked.push(...page.data.map((p: any) => p.model))
      cursor = page.next_cursor
    } while (cursor)
    expect(walked).toEqual(models)

    expect((await gw.admin('GET', '/v1/pricing?limit=1&offset=1')).body.data[0].model).toBe(models[1])
    const bad = await gw.admin('GET', '/v1/pricing?limit=abc')
    expect(bad.status).toBe(400)
    expect(bad.body.error.message).toContain('limit')
  })
})

describe('a model in the pricing path', () => {
  test('provider/model percent-encoded, raw, or an alias finds the provider:model row; DELETE too', async () => {
    await setPrice('mock/slashed', 3)
    for (const path of ['mock%2Fslashed', 'mock/slashed', 'mock%3Aslashed', 'mock:slashed']) {
      const res = await gw.admin('GET', `/v1/pricing/${path}`)
      expect({ path, status: res.status, model: res.body.model }).toEqual({ path, status: 200, model: 'mock:slashed' })
    }
    expect((await gw.admin('GET', '/v1/pricing/cheap')).body.model).toBe('mock:gpt-mock')

    expect((await gw.admin('DELETE', '/v1/pricing/mock%2Fslashed')).body).toMatchObject({ model: 'mock:slashed', deleted: true })
    expect((await gw.admin('GET', '/v1/pricing/mock:slashed')).status).toBe(404)
  })

  test('an upstream model id with a slash in it is reachable raw and encoded', async () => {
    await setPrice('mock:org/model-x', 4)
    expect((await gw.admin('GET', '/v1/pricing/mock:org/model-x')).body.model).toBe('mock:org/model-x')
    expect((await gw.admin('GET', `/v1/pricing/${encodeURIComponent('mock:org/model-x')}`)).body.model).toBe('mock:org/model-x')
    expect((await gw.admin('DELETE', '/v1/pricing/mock:org/model-x')).body).toMatchObject({ model: 'mock:org/model-x', deleted: true })
    expect((await gw.admin('GET', '/v1/pricing/mock:org/model-x')).status).toBe(404)
  })

  test('POST for a provider that is not configured → 400 naming model, and nothing is stored', async () => {
    const res = await gw.admin('POST', '/v1/pricing', { model: 'opnai:gpt-4o', input_per_million: 1, output_per_million: 1 })
    expect(res.status).toBe(400)
    expect(res.body.error.message).toContain('model')
    expect(gw.query("SELECT count(*) AS n FROM prices WHERE model LIKE 'opnai%'")[0].n).toBe(0)
  })
})

describe('price history', () => {
  test('a usage row’s price_id can be looked up after the price changed; history lists every row of a model', async () => {
    const first = await setPrice('mock:hist', 1)
    expect((await chat('mock:hist')).status).toBe(200)
    const second = await setPrice('mock:hist', 2)
    await gw.settled()
    const priceId = gw.query("SELECT price_id FROM usage WHERE model = 'mock:hist'")[0].price_id
    expect(priceId).toBe(first.id)
    expect((await gw.admin('GET', '/v1/pricing/mock:hist')).body.id).toBe(second.id)

    const cited = await gw.admin('GET', `/v1/pricing/history/${priceId}`)
    expect(cited.status).toBe(200)
    expect(cited.body).toMatchObject({ id: first.id, model: 'mock:hist', input_per_million: 1, effective_until: second.effective_from, deleted_at: null })

    const history = (await gw.admin('GET', '/v1/pricing/history?model=mock/hist')).body
    expect(history.data.map((p: any) => p.id)).toEqual([second.id, first.id])
    expect(history.data[0].effective_until).toBeNull()
    const page = (await gw.admin('GET', '/v1/pricing/history?model=mock:hist&limit=1')).body
    expect(page.data.map((p: any) => p.id)).toEqual([second.id])
    const next = (await gw.admin('GET', `/v1/pricing/history?model=mock:hist&limit=1&cursor=${page.next_cursor}`)).body
    expect(next.data.map((p: any) => p.id)).toEqual([first.id])
    expect(next.next_cursor).toBeNull()

    const deleted = (await gw.admin('DELETE', '/v1/pricing/mock:hist')).body
    expect(deleted.id).toBe(second.id)
    const after = (await gw.admin('GET', `/v1/pricing/history/${second.id}`)).body
    expect(after.deleted_at).not.toBeNull()
    expect(after.effective_until).toBe(after.deleted_at)

    expect((await gw.admin('GET', '/v1/pricing/history/99999999')).status).toBe(404)
    expect((await gw.admin('GET', '/v1/pricing/history/abc')).status).toBe(400)
    expect((await gw.admin('GET', '/v1/pricing/history?modle=mock:hist')).status).toBe(400)
  })

  test('the history routes are in the OpenAPI document', async () => {
    const doc = (await (await fetch(`${gw.url}/docs/json`)).json()) as any
    expect(doc.paths['/v1/pricing/history']?.get).toBeDefined()
    expect(doc.paths['/v1/pricing/history/{id}']?.get).toBeDefined()
    expect(doc.paths['/v1/pricing']?.get?.parameters?.map((p: any) => p.name)).toEqual(expect.arrayContaining(['limit', 'cursor']))
  })
})

describe('prices are whole micro-USD', () => {
  test('an amount finer than a micro-USD is refused naming its field, never rounded', async () => {
    const cases: Array<[string, Record<string, number>]> = [
      ['input_per_million', { input_per_million: 0.1234564, output_per_million: 1 }],
      ['output_per_million', { input_per_million: 1, output_per_million: 0.0000005 }],
      ['cached_input_per_million', { input_per_million: 1, output_per_million: 1, cached_input_per_million: 2.0000001 }],
      ['per_request', { input_per_million: 0, output_per_million: 0, per_request: 0.0000014 }],
    ]
    for (const [field, body] of cases) {
      const res = await gw.admin('POST', '/v1/pricing', { model: 'mock:fine', ...body })
      expect({ field, status: res.status }).toEqual({ field, status: 400 })
      expect(res.body.error.message).toContain(field)
      expect(res.body.error.message).toContain('micro-USD')
    }
    expect(gw.query("SELECT count(*) AS n FROM prices WHERE model = 'mock:fine'")[0].n).toBe(0)
  })

  test('six decimal places are stored exactly, despite binary floating point', async () => {
    // 0.123456 × 1e6 is 123455.99999999999 in doubles.
    const p = await setPrice('mock:exact', 0.123456, 999999.999999, { cached_input_per_million: 0.000001, per_request: 0.000001 })
    expect(p).toMatchObject({ input_per_million: 0.123456, output_per_million: 999999.999999, cached_input_per_million: 0.000001, per_request: 0.000001 })
    expect(gw.query("SELECT input_per_million, output_per_million, per_request FROM prices WHERE model = 'mock:exact'")[0]).toEqual({
      input_per_million: 123456,
      output_per_million: 999999999999,
      per_request: 1,
    })
  })

  test('the price book refuses a seed finer than a micro-USD, naming model and field, and writes no seed', async () => {
    const dir = tempDir()
    try {
      const db = openDatabase(join(dir, 'seed.db'))
      const book = new PriceBook(new SqliteStore(db).prices, 0)
      const seed = { input_per_million: 1, output_per_million: 1 }
      await expect(book.seed({ 'mock:good': seed, 'mock:bad': { ...seed, per_request: 0.0000001 } })).rejects.toThrow(InvalidPrice)
      await expect(book.seed({ 'mock:bad': { ...seed, per_request: 0.0000001 } })).rejects.toThrow('pricing.mock:bad.per_request')
      expect(await book.all()).toEqual([])
      db.$client.close()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('such a seed in the config file stops startup, naming model and field', async () => {
    const dir = tempDir()
    try {
      const file = join(dir, 'tollgate.yaml')
      writeFileSync(
        file,
        JSON.stringify({
          providers: { acme: { type: 'openai', base_url: 'http://127.0.0.1:9/v1' } },
          pricing: { 'acme:model-a': { input_per_million: 0.1234564, output_per_million: 1 } },
        }),
      )
      const result = await runGatewayExpectingExit({ TOLLGATE_MASTER_KEY: MASTER_KEY, TOLLGATE_CONFIG: file })
      expect(result.output).not.toContain('listening on')
      expect(result.code).toBe(1)
      expect(result.output).toContain('refusing to start')
      expect(result.output).toContain('pricing.acme:model-a.input_per_million: must be a whole number of micro-USD')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('prices of billed features: cache writes, audio, server tools, service tiers', () => {
  const features = {
    cache_write_per_million: 3.75,
    cache_write_1h_per_million: 6,
    audio_input_per_million: 40,
    audio_output_per_million: 80,
    image_output_per_million: 30,
    server_tools: { web_search: 0.01 },
    service_tiers: { priority: 1.75, flex: 0.5, inference_geo_us: 1.1, long_context: 2, long_context_output: 1.5 },
    long_context_above_tokens: 272_000,
    media_part_tokens: 48_169,
    context_window_tokens: 1_047_576,
    template_overhead_tokens: 200,
  }

  test('POST stores them exactly; GET, the history and /v1/models show them', async () => {
    const p = await setPrice('mock:featured', 3, 15, features)
    expect(p).toMatchObject(features)
    const [stored] = gw.query("SELECT cache_write_per_million, cache_write_1h_per_million, audio_input_per_million, audio_output_per_million, image_output_per_million, server_tools, service_tiers, long_context_above_tokens, media_part_tokens, context_window_tokens, template_overhead_tokens FROM prices WHERE model = 'mock:featured'")
    // JSON text in SQLite, jsonb in Postgres: the same JSON either way.
    const json = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v))
    expect({ ...stored, server_tools: JSON.parse(json(stored.server_tools)), service_tiers: JSON.parse(json(stored.service_tiers)) }).toEqual({
      cache_write_per_million: 3_750_000,
      cache_write_1h_per_million: 6_000_000,
      audio_input_per_million: 40_000_000,
      audio_output_per_million: 80_000_000,
      image_output_per_million: 30_000_000,
      server_tools: { web_search: 10000 },
      service_tiers: { priority: 1750, flex: 500, inference_geo_us: 1100, long_context: 2000, long_context_output: 1500 },
      long_context_above_tokens: 272_000,
      media_part_tokens: 48_169,
      context_window_tokens: 1_047_576,
      template_overhead_tokens: 200,
    })
    expect((await gw.admin('GET', '/v1/pricing/mock:featured')).body).toMatchObject(features)
    expect((await gw.admin('GET', `/v1/pricing/history/${p.id}`)).body).toMatchObject(features)
    const models = (await (await fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } })).json()) as any
    expect(models.data.find((m: any) => m.id === 'mock:featured').pricing).toMatchObject(features)
  })

  test('a row without them shows nulls and empty maps: cache writes by the fallback rule, no feature priced', async () => {
    const p = await setPrice('mock:plain-only', 1, 2)
    expect(p).toMatchObject({
      cache_write_per_million: null, cache_write_1h_per_million: null, audio_input_per_million: null, audio_output_per_million: null, image_output_per_million: null,
      server_tools: {}, service_tiers: {}, long_context_above_tokens: null, media_part_tokens: null, context_window_tokens: null, template_overhead_tokens: null,
    })
  })

  test('amounts finer than a micro-USD, multipliers finer than a thousandth, and odd names are refused naming the field', async () => {
    const cases: Array<[string, Record<string, unknown>]> = [
      ['cache_write_per_million', { cache_write_per_million: 1.0000001 }],
      ['audio_output_per_million', { audio_output_per_million: 0.0000004 }],
      ['image_output_per_million', { image_output_per_million: 0.0000004 }],
      ['server_tools', { server_tools: { web_search: 0.0000001 } }],
      ['service_tiers', { service_tiers: { priority: 1.0001 } }],
      ['service_tiers', { service_tiers: { priority: -1 } }],
      ['server_tools', { server_tools: { 'Web Search': 0.01 } }],
      // Where long context starts, with no long-context rates to start: it would price nothing.
      ['long_context_above_tokens', { long_context_above_tokens: 272_000 }],
      ['long_context_above_tokens', { long_context_above_tokens: 272_000, service_tiers: { long_context_output: 1.5 } }],
      ['long_context_above_tokens', { long_context_above_tokens: 0.5, service_tiers: { long_context: 2 } }],
      ['long_context_above_tokens', { long_context_above_tokens: 0, service_tiers: { long_context: 2 } }],
      ['media_part_tokens', { media_part_tokens: 0 }],
      ['media_part_tokens', { media_part_tokens: 4096.5 }],
      ['context_window_tokens', { context_window_tokens: 0 }],
      ['context_window_tokens', { context_window_tokens: 128_000.5 }],
      ['template_overhead_tokens', { template_overhead_tokens: -1 }],
      ['template_overhead_tokens', { template_overhead_tokens: 100.5 }],
    ]
    for (const [field, extra] of cases) {
      const res = await gw.admin('POST', '/v1/pricing', { model: 'mock:fine-feature', input_per_million: 1, output_per_million: 1, ...extra })
      expect({ field, status: res.status }).toEqual({ field, status: 400 })
      expect(res.body.error.message).toContain(field)
    }
    expect(gw.query("SELECT count(*) AS n FROM prices WHERE model = 'mock:fine-feature'")[0].n).toBe(0)
  })

  test('the OpenAPI document describes them', async () => {
    const doc = (await (await fetch(`${gw.url}/docs/json`)).json()) as any
    const schema = doc.paths['/v1/pricing'].post.requestBody.content['application/json'].schema
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(Object.keys(features)))
  })

  test('the config file seeds them; a seed finer than the ledger stops startup naming the field', async () => {
    const dir = tempDir()
    try {
      const db = openDatabase(join(dir, 'seed.db'))
      const book = new PriceBook(new SqliteStore(db).prices, 0)
      await book.seed({ 'mock:seeded': { input_per_million: 1, output_per_million: 2, ...features } })
      expect(await book.priceOf('mock:seeded')).toMatchObject({
        cacheWritePerMillion: 3_750_000, cacheWrite1hPerMillion: 6_000_000, audioInputPerMillion: 40_000_000, audioOutputPerMillion: 80_000_000,
        serverTools: { web_search: 10_000 }, tierMultipliers: { priority: 1750, flex: 500 }, longContextAboveTokens: 272_000, mediaPartTokens: 48_169, contextWindowTokens: 1_047_576, templateOverheadTokens: 200,
      })
      await expect(book.seed({ 'mock:bad-media': { input_per_million: 1, output_per_million: 1, media_part_tokens: 0 } })).rejects.toThrow('pricing.mock:bad-media.media_part_tokens')
      await expect(book.seed({ 'mock:bad-window': { input_per_million: 1, output_per_million: 1, context_window_tokens: 0 } })).rejects.toThrow('pricing.mock:bad-window.context_window_tokens')
      await expect(book.seed({ 'mock:bad-template': { input_per_million: 1, output_per_million: 1, template_overhead_tokens: -1 } })).rejects.toThrow('pricing.mock:bad-template.template_overhead_tokens')
      await expect(book.seed({ 'mock:bad-threshold': { input_per_million: 1, output_per_million: 1, long_context_above_tokens: 272_000 } })).rejects.toThrow(
        'pricing.mock:bad-threshold.long_context_above_tokens',
      )
      await expect(book.seed({ 'mock:bad-tier': { input_per_million: 1, output_per_million: 1, service_tiers: { priority: 1.23456 } } })).rejects.toThrow(
        'pricing.mock:bad-tier.service_tiers.priority',
      )
      db.$client.close()
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
