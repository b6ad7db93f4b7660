/**
 * `tollgate prices set` offers four fields (--input, --output, --cached-input, --per-request), but a price
 * row has many more. A new row keeps, from the row in force for the model, every field the command does not
 * offer (cache-write and audio rates, server tools, service tiers, where long context starts, a media part's
 * bound), and the command prints which. A scheduled row is not in force; a new model has nothing to keep.
 * An option left out (--cached-input, --per-request) keeps its value too; `none` unsets it.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { carriedPriceFields } from '../src/cli/price-carry'
import { runTollgate } from './support/cli'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'

let mock: MockProvider
let gw: TestGateway

beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock })
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})

const tollgate = (args: string[]) => runTollgate(gw.url, args)

/** Every field `prices set` does not offer, set on the row in force (GPT-5.4's long context, gpt-4o-mini's media bound). */
const UNOFFERED = {
  cache_write_per_million: 3,
  cache_write_1h_per_million: 5,
  audio_input_per_million: 32,
  audio_output_per_million: 64,
  server_tools: { web_search: 0.01 },
  service_tiers: { long_context: 2, long_context_output: 1.5, priority: 2 },
  long_context_above_tokens: 272000,
  media_part_tokens: 48169,
}

const priceOf = async (model: string) => (await gw.admin('GET', `/v1/pricing/${encodeURIComponent(model)}`)).body

describe('tollgate prices set keeps what it does not offer', () => {
  test('a new input price keeps every other field of the row in force, and the command names them', async () => {
    const before = await gw.admin('POST', '/v1/pricing', {
      model: 'mock:gpt-carry', input_per_million: 2.5, output_per_million: 15, cached_input_per_million: 0.25, per_request: 0.001,
      ...UNOFFERED, source: 'a catalog',
    })
    expect(before.status).toBe(201)
    const set = await tollgate(['prices', 'set', 'mock:gpt-carry', '--input', '3', '--output', '15'])
    expect(set.code).toBe(0)
    expect(set.stdout).toContain('Kept from the row in force')
    for (const field of Object.keys(UNOFFERED)) expect(set.stdout).toContain(field)

    const now = await priceOf('mock:gpt-carry')
    expect(now.id).not.toBe(before.body.id)
    expect(now).toMatchObject({ input_per_million: 3, output_per_million: 15, ...UNOFFERED })
    // Left out: kept. The source named the old row's origin, not this one's.
    expect(now).toMatchObject({ cached_input_per_million: 0.25, per_request: 0.001, source: null })
  })

  test('none unsets an option the command offers', async () => {
    const set = await tollgate(['prices', 'set', 'mock:gpt-carry', '--input', '3', '--output', '15', '--cached-input', 'none', '--per-request', 'none'])
    expect(set.code).toBe(0)
    expect(await priceOf('mock:gpt-carry')).toMatchObject({ cached_input_per_million: null, per_request: null, ...UNOFFERED })
  })

  test('the row carried from is the one in force now, not one scheduled for later', async () => {
    await gw.admin('POST', '/v1/pricing', { model: 'mock:gpt-sched', input_per_million: 1, output_per_million: 2, ...UNOFFERED })
    const later = await gw.admin('POST', '/v1/pricing', {
      model: 'mock:gpt-sched', input_per_million: 9, output_per_million: 9, media_part_tokens: 1, service_tiers: { flex: 0.5 },
      effective_from: new Date(Date.now() + 7 * 86_400_000).toISOString(),
    })
    expect(later.status).toBe(201)
    // Named as provider/model: the same model, looked up and written as the API resolves it.
    const set = await tollgate(['prices', 'set', 'mock/gpt-sched', '--input', '1.5', '--output', '2', '--cached-input', '0.15', '--json'])
    expect(set.code).toBe(0)
    expect(JSON.parse(set.stdout)).toMatchObject({ model: 'mock:gpt-sched', input_per_million: 1.5, cached_input_per_million: 0.15, ...UNOFFERED })
    expect(await priceOf('mock:gpt-sched')).toMatchObject({ input_per_million: 1.5, ...UNOFFERED })
  })

  test('a new model has nothing to keep, and the command says so', async () => {
    const set = await tollgate(['prices', 'set', 'mock:gpt-fresh', '--input', '0.5', '--output', '1.5', '--per-request', '0.002'])
    expect(set.code).toBe(0)
    expect(set.stdout).toContain('No price in force for mock:gpt-fresh: nothing kept')
    expect(await priceOf('mock:gpt-fresh')).toMatchObject({
      input_per_million: 0.5, output_per_million: 1.5, per_request: 0.002, cache_write_per_million: null, server_tools: {}, service_tiers: {},
      long_context_above_tokens: null, media_part_tokens: null,
    })
  })

  test('a row in force with only the offered fields leaves nothing else to keep', async () => {
    await gw.admin('POST', '/v1/pricing', { model: 'mock:gpt-plain', input_per_million: 1, output_per_million: 2, cached_input_per_million: 0.1 })
    const set = await tollgate(['prices', 'set', 'mock:gpt-plain', '--input', '1.2', '--output', '2', '--cached-input', '0.12'])
    expect(set.code).toBe(0)
    expect(set.stdout).toContain('Nothing else to keep from the row in force')
    expect(await priceOf('mock:gpt-plain')).toMatchObject({ input_per_million: 1.2, cached_input_per_million: 0.12 })
  })
})

describe('carriedPriceFields', () => {
  test('keeps any field it is not told the client offers, so a field price rows gain later is kept with no edit', () => {
    const inForce = {
      id: 7, model: 'openai:gpt-5.4', input_per_million: 2.5, output_per_million: 15, cached_input_per_million: 0.25, per_request: null,
      ...UNOFFERED, context_window_tokens: 1_050_000, effective_from: '2026-12-01T00:00:00.000Z', source: 'a catalog',
    }
    expect(carriedPriceFields(inForce, ['input_per_million', 'output_per_million', 'cached_input_per_million', 'per_request'])).toEqual({
      ...UNOFFERED, context_window_tokens: 1_050_000,
    })
    // Unset fields are not kept (nothing to say about them); a row's metadata never is.
    expect(carriedPriceFields({ ...inForce, server_tools: {}, service_tiers: {}, media_part_tokens: null, created_at: 'x', effective_until: null, deleted_at: null }, ['input_per_million']))
      .not.toContainAnyKeys(['server_tools', 'service_tiers', 'media_part_tokens', 'id', 'model', 'created_at', 'effective_from', 'effective_until', 'deleted_at', 'source', 'input_per_million'])
    expect(carriedPriceFields(null, [])).toEqual({})
  })
})
