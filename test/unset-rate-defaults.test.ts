/**
 * Rates a row leaves unset are billed so that a row written from the price catalog never bills less than the
 * catalog (genai-prices `calcPrice`) says the provider charges.
 *
 * An audio model priced from the catalog (OpenAI gpt-audio: input 2.5, audio in 32, no cached
 * rate of any kind, so no caching discount) whose answer reports cached prompt tokens. Of 100,000 prompt
 * tokens, 90,000 are audio and 50,000 cached: at least 40,000 of the cached tokens are audio. The catalog
 * (genai-prices `calcPrice`) bills every audio token at the audio rate; tollgate bills the cached ones at the
 * text input rate.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { calcPrice } from '@pydantic/genai-prices'
import { catalogEntry } from '../src/cli/price-catalog'
import { costOf, type Price } from '../src/pricing/price'
import { startTestGateway, type TestGateway } from './support/gateway'
import { jsonResponse, scriptedProviders, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'

const USER = 'team-voice'
let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string

beforeAll(async () => {
  upstream = startScriptedUpstream()
  // The row `tollgate prices catalog --apply` writes for it.
  const fields = catalogEntry('openai', 'gpt-audio')!.rows[0]!.fields
  expect(fields).toEqual({ input_per_million: 2.5, output_per_million: 10, audio_input_per_million: 32, audio_output_per_million: 64 })
  gw = await startTestGateway({ config: { providers: scriptedProviders(upstream), pricing: { 'plain:gpt-audio': fields } } })
  secret = (await gw.userWithKey({ id: USER, max_budget: 100 })).secret
})
afterAll(async () => {
  await gw.stop()
  await upstream.stop()
})

test('cached audio prompt tokens are not billed at the text input rate when the price has no cached rate', async () => {
  upstream.answer(() =>
    jsonResponse({
      id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: 'gpt-audio',
      choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 100_000, completion_tokens: 10, total_tokens: 100_010, prompt_tokens_details: { cached_tokens: 50_000, audio_tokens: 90_000 } },
    }),
  )
  let status = 0
  const row = await settledRow(gw, USER, async () => {
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'plain:gpt-audio', max_tokens: 10,
        messages: [{ role: 'user', content: [{ type: 'text', text: 'again:' }, { type: 'input_audio', input_audio: { data: 'UklGRiQAAABXQVZFZm10IA==', format: 'wav' } }] }],
      }),
    })
    status = res.status
    await res.text()
  })
  expect(status).toBe(200)
  const catalog = calcPrice({ input_tokens: 100_000, input_audio_tokens: 90_000, cache_read_tokens: 50_000, output_tokens: 10 }, 'gpt-audio', { providerId: 'openai' })!.total_price
  expect(Math.round(catalog * 1e6)).toBe(2_905_100) // 90,000 audio at 32 + 10,000 text at 2.5 + 10 out at 10
  expect(row.cost).toBeGreaterThanOrEqual(Math.round(catalog * 1e6)) // was 1_725_100 (40,000 cached audio at 2.5)
})

const micros = (usd: number | null | undefined) => (usd == null ? null : Math.round(usd * 1e6))
const priceOf = (f: Record<string, any>): Price => ({
  id: 1, model: 'x', createdAt: 0,
  inputPerMillion: micros(f.input_per_million)!, outputPerMillion: micros(f.output_per_million)!,
  cachedInputPerMillion: micros(f.cached_input_per_million), perRequest: micros(f.per_request),
  cacheWritePerMillion: micros(f.cache_write_per_million), cacheWrite1hPerMillion: micros(f.cache_write_1h_per_million),
  audioInputPerMillion: micros(f.audio_input_per_million), audioOutputPerMillion: micros(f.audio_output_per_million),
})

test('a catalog cache-write rate dearer than 2x input also bounds 1-hour cache writes (openrouter gemini-flash-1.5)', () => {
  // The catalog: input 0.075, cache_write 0.1583 (> 2 x 0.075), no 1-hour rate: genai-prices bills every
  // cache write, 1-hour ones included, at 0.1583. tollgate's unset 1-hour rate is 2 x input = 0.15.
  const entry = catalogEntry('openrouter', 'gemini-flash-1.5')!
  expect(entry.rows).toHaveLength(1)
  const row = entry.rows[0]!
  expect(row.unbillable).toEqual([])
  const usage = { input_tokens: 1_000_000, cache_write_tokens: 1_000_000, cache_write_1h_tokens: 1_000_000, output_tokens: 0 }
  const catalog = Math.ceil(calcPrice(usage, 'gemini-flash-1.5', { providerId: 'openrouter' })!.total_price * 1e6 - 1e-6)
  expect(catalog).toBe(158_300)
  // The request marked its cache writes `ttl: "1h"` (cache_control), or the provider reported them as such.
  const ours = costOf(priceOf(row.fields), { promptTokens: 1_000_000, completionTokens: 0, cachedTokens: 0, cacheWriteTokens: 1_000_000, cacheWrite1hTokens: 1_000_000 })
  expect(ours).toBeGreaterThanOrEqual(catalog) // was 150_000
})
