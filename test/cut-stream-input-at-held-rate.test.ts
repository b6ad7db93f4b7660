import { expect, test } from 'bun:test'
import { streamOutcome } from '../src/metering/outcome'
import type { Hold } from '../src/budget/hold'
import type { StreamFacts } from '../src/metering/metered-stream'
import { openAIChatFeatures } from '../src/pricing/features'
import { costOf, estimateAsHeld, heldAtProviderDefaults, NO_FEATURES, worstCaseCost, type Price, type RequestedFeatures } from '../src/pricing/price'
import type { TestGateway } from './support/gateway'
import { ownAudioAnswer } from './support/audio-answer'
import { settledRow } from './support/settled-row'
import { openAIEvent, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * SPEC §6: a stream the client cuts before its usage is charged "the input estimate + every kind of output counted
 * from delivered deltas" — and the estimate is priced "at the dearest applicable rate". The provider has read the
 * whole prompt before its first byte, and no usage says at which rates: so the estimate is priced as the hold priced
 * it (`estimateAsHeld`, src/pricing/price.ts): at the audio input rate when the request sends audio, the cache-write
 * rate (of its lifetime) when it writes to the cache, at the tier and geography held. An earlier audio answer named
 * by id (`{role: 'assistant', audio: {id}}`), which OpenAI reads again as audio input (README;
 * test/audio-answer-by-id-hold.test.ts: 16,384 audio tokens at $40/M = 655,360 µ$), has no bytes in the body: priced
 * at the text rate, the cut stream paid ~41,000 µ$ for input the provider bills 655,360 µ$ for.
 */

const AUDIO_ANSWER_TOKENS = 16_384
const AUDIO_RATE = 40 // µ$ a token ($40 per million)
let upstream: ScriptedUpstream
let gw: TestGateway

withScriptedGateway(
  {
    cap_output_tokens: true,
    pricing: { 'plain:audio': { input_per_million: 2.5, output_per_million: 10, audio_input_per_million: 40, audio_output_per_million: 80 } },
  },
  (started) => ({ upstream, gw } = started),
)

const body = {
  model: 'plain:audio',
  max_completion_tokens: 16,
  stream: true,
  messages: [
    { role: 'user', content: 'Tell me a long story.' },
    { role: 'assistant', audio: { id: 'audio_abc123' } },
    { role: 'user', content: 'Summarise it in a word.' },
  ],
}

test('unit: a stream cut before its usage prices its input estimate at the rate its hold priced it (audio input)', () => {
  const price: Price = { id: 1, model: 'plain:audio', inputPerMillion: 2_500_000, outputPerMillion: 10_000_000, cachedInputPerMillion: null, perRequest: null, createdAt: 0, audioInputPerMillion: 40_000_000, audioOutputPerMillion: 80_000_000 }
  const features = openAIChatFeatures(body, 'audio')
  expect(features.audioInput).toBe(true)
  const estimate = { inputTokens: AUDIO_ANSWER_TOKENS + 100, outputTokens: 16 }
  const hold = worstCaseCost(price, estimate.inputTokens, estimate.outputTokens, features)
  const facts = { end: 'cancelled', usage: null, deliveredOutputBytes: 2 } as unknown as StreamFacts
  const outcome = streamOutcome(facts, { price, features, outputBound: 16 }, estimate, { amount: hold } as Hold, 1, true)
  // The audio answer alone, as the provider reads it: 16,384 tokens at $40/M.
  expect(outcome.cost).toBeGreaterThanOrEqual(AUDIO_ANSWER_TOKENS * AUDIO_RATE)
})

test('unit: the estimate as held costs what the hold\'s input term does, for each dearest kind, tier and geography', () => {
  const price: Price = {
    id: 1, model: 'p:m', inputPerMillion: 3_000_000, outputPerMillion: 15_000_000, cachedInputPerMillion: 300_000, perRequest: null, createdAt: 0,
    audioInputPerMillion: 40_000_000, tierMultipliers: { priority: 2000, flex: 500, inference_geo_us: 1100 },
  }
  const cases: Array<[string, Partial<RequestedFeatures>]> = [
    ['plain', {}],
    ['audio', { audioInput: true }],
    ['5-minute cache writes', { cacheWrites: '5m' }],
    ['1-hour cache writes', { cacheWrites: '1h' }],
    ['priority tier, US geography', { tier: 'priority', inferenceGeo: 'us' }],
    ['provider defaults under a hard bound', { providerDefaults: { tier: true, geo: true, cacheWrites: true, audioInput: true } }],
  ]
  const n = 123_457
  for (const [name, asked] of cases) {
    const held = heldAtProviderDefaults(price, { ...NO_FEATURES, ...asked })
    const asHeld = costOf(price, { promptTokens: n, completionTokens: 0, ...estimateAsHeld(price, n, held) }, held)
    expect({ name, cost: asHeld }).toEqual({ name, cost: worstCaseCost(price, n, 0, held) })
  }
})

test('unit: cut before its usage under a hard bound, a request leaving the tier to the provider pays its estimate at the dearest tier held', () => {
  const price: Price = { id: 1, model: 'p:m', inputPerMillion: 1_000_000, outputPerMillion: 2_000_000, cachedInputPerMillion: null, perRequest: null, createdAt: 0, tierMultipliers: { priority: 2000 } }
  const features = openAIChatFeatures({ model: 'p:m', messages: [{ role: 'user', content: 'hi' }] }, 'm')
  const estimate = { inputTokens: 10_000, outputTokens: 16 }
  const hold = worstCaseCost(price, estimate.inputTokens, estimate.outputTokens, heldAtProviderDefaults(price, features))
  const facts = { end: 'cancelled', usage: null, deliveredOutputBytes: 0 } as unknown as StreamFacts
  // Held at priority (2×) and as OpenAI's unasked cache writes (1.25× input): 25,000 µ$ for the input.
  expect(streamOutcome(facts, { price, features, outputBound: 16 }, estimate, { amount: hold } as Hold, 1, true).cost).toBe(25_000)
  // Without the hard bound, nothing was held at the provider's defaults: the estimate at the plain rates.
  expect(streamOutcome(facts, { price, features }, estimate, { amount: hold } as Hold, 1, true).cost).toBe(10_000)
})

test('through the gateway: chat stream with an earlier audio answer by id, cut after its first delta', async () => {
  // The provider answers with one delta, then stays open: the client cuts it before any usage.
  upstream.answer(() =>
    new Response(
      new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(new TextEncoder().encode(openAIEvent({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'audio', choices: [{ index: 0, delta: { role: 'assistant', content: 'Ok' }, finish_reason: null }] })))
        },
      }),
      { headers: { 'content-type': 'text/event-stream' } },
    ),
  )
  const { secret } = await gw.userWithKey({ id: 'rt-ch-cut-audio', max_budget: 10 })
  ownAudioAnswer(gw, 'rt-ch-cut-audio', 'audio_abc123')
  const row = await settledRow(gw, 'rt-ch-cut-audio', async () => {
    const res = await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })
    expect(res.status).toBe(200)
    const reader = res.body!.getReader()
    let text = ''
    while (!text.includes('Ok')) text += new TextDecoder().decode((await reader.read()).value)
    await reader.cancel()
  })
  expect(row.status).toBe('aborted')
  // The hold covered the audio answer at the audio rate; the cut stream must pay at least what the provider read.
  expect(row.reserved).toBeGreaterThanOrEqual(AUDIO_ANSWER_TOKENS * AUDIO_RATE)
  expect(row.cost).toBeGreaterThanOrEqual(AUDIO_ANSWER_TOKENS * AUDIO_RATE)
})
