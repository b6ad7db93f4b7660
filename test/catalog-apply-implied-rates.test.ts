/**
 * `prices catalog --apply` over a row with token rates the operator set that the catalog gives no rate of its
 * own (audio, cache writes): genai-prices bills those tokens at the input (or output) rate, so a kept rate is
 * raised to it where lower — a row written from the catalog never bills a token for less than the catalog says.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { calcPrice } from '@pydantic/genai-prices'
import { costOf, type Price, type TokenCounts } from '../src/pricing/price'
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

/** The rows `--apply` wrote for a model (they cite the catalog), each with the time it is billed from. */
async function writtenRows(gw: TestGateway, model: string) {
  const history = (await gw.admin('GET', `/v1/pricing/history?model=${model}`)).body.data as any[]
  return history.filter((r) => r.source?.startsWith('@pydantic/genai-prices@'))
}

/** Whole micro-USD, as the catalog's bill for `usage` of `model` from `at`. */
const catalogBill = (model: string, usage: Record<string, number>, at: number) =>
  micros(calcPrice(usage, model, { providerId: 'google', timestamp: new Date(Math.max(at, Date.now()) + 60_000) })!.total_price)!

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
        // Audio input is refused until it has a rate of its own, so the operator gave Gemini's unified input
        // rate (the catalog's today: 0.75; 1.5 from 2027-01-01) as the audio rate too.
        'goo:gemini-3.6-flash': { input_per_million: 0.75, output_per_million: 3.75, cached_input_per_million: 0.075, audio_input_per_million: 0.75 },
        // Below the catalog (0.3 / 2.5, no cache-write or audio-output rate): changed now, with the operator's
        // cache-write and audio-output rates set at its old input and output rates.
        'goo:gemini-2.5-flash': {
          input_per_million: 0.2, output_per_million: 2, cached_input_per_million: 0.05,
          cache_write_per_million: 0.2, cache_write_1h_per_million: 0.25, audio_output_per_million: 2,
        },
      },
    },
  })
  await tollgateOutput(gw.url, ['prices', 'catalog', '--apply'])
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})

describe('--apply over a row with an audio rate the operator set', () => {
  test("no row it writes bills audio input below the catalog's input rate (the dated change to 1.5 on 2027-01-01, or the row now once that date has passed)", async () => {
    const written = await writtenRows(gw, 'goo:gemini-3.6-flash')
    // Before 2027-01-01 the row now is the catalog's and only the dated change is written; after it, the row now.
    expect(written.length).toBeGreaterThan(0)
    for (const row of written) {
      expect(row.input_per_million).toBe(1.5)
      const catalog = catalogBill('gemini-3.6-flash', { input_tokens: 1_000_000, input_audio_tokens: 1_000_000 }, Date.parse(row.effective_from))
      expect(catalog).toBe(1_500_000) // no audio rate: genai-prices bills audio at the input rate
      const ours = costOf(priceOf(row), { promptTokens: 1_000_000, completionTokens: 0, cachedTokens: 0, audioInputTokens: 1_000_000 })
      expect(ours).toBeGreaterThanOrEqual(catalog) // before the fix: 750_000, the kept audio rate
    }
  })
})

describe('--apply over the row now, with cache-write and audio-output rates the operator set', () => {
  const usages: [string, Record<string, number>, TokenCounts][] = [
    ['5-minute cache writes', { input_tokens: 1_000_000, cache_write_tokens: 1_000_000 }, { promptTokens: 1_000_000, completionTokens: 0, cachedTokens: 0, cacheWriteTokens: 1_000_000 }],
    ['1-hour cache writes', { input_tokens: 1_000_000, cache_write_tokens: 1_000_000, cache_write_1h_tokens: 1_000_000 }, { promptTokens: 1_000_000, completionTokens: 0, cachedTokens: 0, cacheWriteTokens: 1_000_000, cacheWrite1hTokens: 1_000_000 }],
    ['audio output tokens', { output_tokens: 1_000_000, output_audio_tokens: 1_000_000 }, { promptTokens: 0, completionTokens: 1_000_000, cachedTokens: 0, audioOutputTokens: 1_000_000 }],
  ]
  for (const [kind, usage, tokens] of usages)
    test(`${kind} are not billed below the catalog's input (output) rate`, async () => {
      const [row] = await writtenRows(gw, 'goo:gemini-2.5-flash')
      expect(row).toBeDefined()
      const catalog = catalogBill('gemini-2.5-flash', usage, Date.parse(row.effective_from))
      expect(costOf(priceOf(row), tokens)).toBeGreaterThanOrEqual(catalog) // before the fix: the kept 0.2, 0.25, 2
    })

  test('the diff names each raised rate, and a second run has nothing to do', async () => {
    const again = JSON.parse(await tollgateOutput(gw.url, ['prices', 'catalog', '--json']))
    for (const line of again.models.filter((m: any) => m.model.startsWith('goo:'))) expect(line.status).toBe('unchanged')
    // Only what the catalog implies is raised: the operator's row now, with an audio-output rate below the output rate.
    await gw.admin('POST', '/v1/pricing', { model: 'goo:gemini-2.5-flash', input_per_million: 0.3, output_per_million: 2.5, cached_input_per_million: 0.1, audio_input_per_million: 1, audio_output_per_million: 2.4 })
    const diff = JSON.parse(await tollgateOutput(gw.url, ['prices', 'catalog', '--json', '--models', 'goo:gemini-2.5-flash']))
    const line = diff.models.find((m: any) => m.model === 'goo:gemini-2.5-flash')
    expect(line).toMatchObject({ status: 'changed', changes: 'audio_output 2.4 → 2.5' })
  })
})
