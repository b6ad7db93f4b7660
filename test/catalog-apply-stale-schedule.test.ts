/**
 * `prices catalog` over rows already scheduled at times that are not the catalog's change dates (an earlier
 * catalog version's change the catalog has since dropped, an operator's): each is shown against the catalog's
 * price at its time, and `--apply` writes the catalog's price at that same time. Of two rows with one effective
 * time the price book applies the newer, so a cheaper scheduled row never bills below the catalog.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { calcPrice } from '@pydantic/genai-prices'
import { costOf, type Price } from '../src/pricing/price'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { mockProviders, startTestGateway, type TestGateway } from './support/gateway'
import { tollgateOutput } from './support/cli'

const micros = (usd: number | null | undefined) => (usd == null ? null : Math.round(usd * 1e6))
const priceOf = (f: Record<string, any>): Price => ({
  id: 1, model: 'x', createdAt: 0,
  inputPerMillion: micros(f.input_per_million)!, outputPerMillion: micros(f.output_per_million)!,
  cachedInputPerMillion: micros(f.cached_input_per_million), perRequest: micros(f.per_request),
  cacheWritePerMillion: micros(f.cache_write_per_million), cacheWrite1hPerMillion: micros(f.cache_write_1h_per_million),
  audioInputPerMillion: micros(f.audio_input_per_million), audioOutputPerMillion: micros(f.audio_output_per_million),
})

const historyOf = async (gw: TestGateway, model: string) => (await gw.admin('GET', `/v1/pricing/history?model=${model}`)).body.data as any[]

describe('--apply with a scheduled row the catalog no longer has', () => {
  let mock: MockProvider
  let gw: TestGateway
  beforeAll(async () => {
    mock = startMockProvider()
    const { mock: openai } = mockProviders(mock)
    gw = await startTestGateway({
      mock,
      config: {
        providers: { goo: { ...openai, catalog: 'google' } },
        pricing: {
          'goo:gemini-3.6-flash': { input_per_million: 0.75, output_per_million: 3.75, cached_input_per_million: 0.075 },
          'goo:gemini-2.5-flash': { input_per_million: 0.3, output_per_million: 2.5, cached_input_per_million: 0.1, audio_input_per_million: 1 },
        },
      },
    })
  })
  afterAll(async () => {
    await gw.stop()
    await mock.stop()
  })

  test('a cheaper dated row an earlier catalog version scheduled is shown changed and replaced at its time', async () => {
    // An earlier catalog version announced a cut (the catalog has since dropped it): its row is scheduled.
    const cutAt = new Date(Date.now() + 2 * 86_400_000).toISOString()
    const posted = await gw.admin('POST', '/v1/pricing', {
      model: 'goo:gemini-3.6-flash', input_per_million: 0.3, output_per_million: 1.5, cached_input_per_million: 0.03,
      effective_from: cutAt, source: '@pydantic/genai-prices@0.1.7 google/gemini-3.6-flash',
    })
    expect(posted.status).toBeLessThan(300)

    const diff = JSON.parse(await tollgateOutput(gw.url, ['prices', 'catalog', '--apply', '--json']))
    const lines = diff.models.filter((m: any) => m.model === 'goo:gemini-3.6-flash')
    expect(lines.find((l: any) => l.effective_from === cutAt)).toMatchObject({ status: 'changed', changes: expect.stringContaining('input 0.3 → ') })

    // The row in force three days from now, by the price book's history, against the catalog then.
    const at = Date.now() + 3 * 86_400_000
    const history = await historyOf(gw, 'goo:gemini-3.6-flash')
    const inForce = history
      .filter((r) => !r.deleted_at && Date.parse(r.effective_from) <= at && (r.effective_until === null || Date.parse(r.effective_until) > at))
    expect(inForce).toHaveLength(1)
    expect(inForce[0].effective_from).toBe(cutAt)
    const usage = { input_tokens: 1_000_000, output_tokens: 1_000_000 }
    const catalog = calcPrice(usage, 'gemini-3.6-flash', { providerId: 'google', timestamp: new Date(at) })!.total_price
    const ours = costOf(priceOf(inForce[0]), { promptTokens: 1_000_000, completionTokens: 1_000_000, cachedTokens: 0 }) / 1e6
    expect(ours).toBeGreaterThanOrEqual(catalog) // before the fix: 1.8 (the stale cut) against 4.5
    // The stale row ends the moment it starts: it never applies.
    expect(history.find((r) => r.id === posted.body.id)).toMatchObject({ effective_from: cutAt, effective_until: cutAt })

    // A second run has nothing to do: the stale row is no longer the one scheduled then.
    const again = JSON.parse(await tollgateOutput(gw.url, ['prices', 'catalog', '--json']))
    for (const line of again.models) expect(line.status).toBe('unchanged')
  })

  test('of two rows with one effective time the price book bills at the newer one (the catalog\'s)', async () => {
    const cutAt = new Date(Date.now() + 3_000).toISOString()
    const stale = await gw.admin('POST', '/v1/pricing', {
      model: 'goo:gemini-2.5-flash', input_per_million: 0.1, output_per_million: 0.5, effective_from: cutAt, source: '@pydantic/genai-prices@0.1.7 google/gemini-2.5-flash',
    })
    expect(stale.status).toBe(201)
    const diff = JSON.parse(await tollgateOutput(gw.url, ['prices', 'catalog', '--apply', '--json', '--models', 'goo:gemini-2.5-flash']))
    expect(diff.models.find((l: any) => l.model === 'goo:gemini-2.5-flash' && l.effective_from === cutAt)?.status).toBe('changed')
    const written = (await historyOf(gw, 'goo:gemini-2.5-flash'))[0]
    expect(written).toMatchObject({ effective_from: cutAt, input_per_million: 0.3, output_per_million: 2.5 })
    expect(written.id).toBeGreaterThan(stale.body.id)

    await Bun.sleep(Math.max(0, Date.parse(cutAt) - Date.now()) + 100)
    const inForce = (await gw.admin('GET', '/v1/pricing/goo:gemini-2.5-flash')).body
    expect(inForce).toMatchObject({ id: written.id, input_per_million: 0.3, output_per_million: 2.5, cached_input_per_million: 0.1, effective_from: cutAt })
  })
})
