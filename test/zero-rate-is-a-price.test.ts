/**
 * Mutation guard. A rate of 0 is a price, not a missing one: README (per-request routes) "price it 0/0
 * to serve it free", and the config's "a rate left out stops startup, never reads as free" — left out (null) and 0
 * are different things. A model whose row prices audio input, audio output or image output at 0 (a local model, a
 * free tier, an operator's in-house model) is served those features; only a row with no such rate is refused 402.
 *
 * Kills (src/pricing/features.ts unpricedFeature): `price.audioInputPerMillion == null` → `!price.audioInputPerMillion`
 * (and the same for audioOutputPerMillion and imageOutputPerMillion): "treat a zero price as missing", which
 * audio-pricing, feature-pricing, billed-features, responses-features, unset-rate-defaults,
 * media-declared-audio-needs-audio-rate, responses-input-audio and media-audio-rate-hold all survived.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'

let mock: MockProvider
let gw: TestGateway
let secret: string

beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({
    mock,
    config: {
      require_pricing: true,
      pricing: {
        'mock:zero-media': { input_per_million: 1, output_per_million: 2, audio_input_per_million: 0, audio_output_per_million: 0, image_output_per_million: 0 },
        'mock:no-media': { input_per_million: 1, output_per_million: 2 },
      },
    },
  })
  ;({ secret } = await gw.userWithKey({ id: 'ku-zero-rate', max_budget: 10 }))
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})

const requests: Record<string, Record<string, unknown>> = {
  'audio input': { messages: [{ role: 'user', content: [{ type: 'text', text: 'what is said?' }, { type: 'input_audio', input_audio: { data: 'UklGRiQAAABXQVZF', format: 'wav' } }] }] },
  'audio output': { modalities: ['text', 'audio'], audio: { voice: 'alloy', format: 'wav' }, messages: [{ role: 'user', content: 'say hi' }] },
  'image output': { modalities: ['text', 'image'], messages: [{ role: 'user', content: 'draw a cat' }] },
}

const chat = (model: string, extra: Record<string, unknown>) =>
  fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, max_tokens: 16, ...extra }),
  })

for (const [feature, extra] of Object.entries(requests)) {
  test(`${feature} priced at 0 is served; with no rate it is refused 402`, async () => {
    const unpriced = await chat('mock:no-media', extra)
    const refusal = (await unpriced.json()) as { error?: { code?: string } }
    expect({ status: unpriced.status, code: refusal.error?.code }).toEqual({ status: 402, code: 'pricing_required' })
    mock.reset()
    const res = await chat('mock:zero-media', extra)
    const body = (await res.json()) as { error?: { message?: string } }
    expect({ status: res.status, error: body.error?.message }).toEqual({ status: 200, error: undefined })
    expect(mock.calls.length).toBe(1)
  })
}
