/**
 * Mutation guard. README "Tiers"/features table, audio (OpenAI): audio output is asked by "`modalities`
 * with `audio` (on Responses too), or `audio`", priced by `audio_output_per_million`, and a feature the row cannot
 * price is refused 402 before any hold or provider call. A chat request carrying the `audio` output settings alone
 * (no `modalities`) to a model whose row has no audio output rate must be refused, not served with its audio
 * tokens settled at the text output rate.
 *
 * Kills: src/pricing/features.ts openAIChatFeatures `audioOutput: body.audio != null || modalities.has('audio')` →
 * `audioOutput: modalities.has('audio')`, which billed-features, chat-audio-answer-bound and audio-pricing survived.
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
        'mock:gpt-text': { input_per_million: 1, output_per_million: 2 },
        'mock:gpt-audio': { input_per_million: 1, output_per_million: 2, audio_output_per_million: 80 },
      },
    },
  })
  ;({ secret } = await gw.userWithKey({ id: 'ku-chat-audio-param', max_budget: 10 }))
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})

const chat = (model: string) =>
  fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, max_tokens: 16, audio: { voice: 'alloy', format: 'wav' }, messages: [{ role: 'user', content: 'say hi' }] }),
  })

test('chat `audio` without `modalities`, no audio output rate: 402 naming audio output, provider not called', async () => {
  mock.reset()
  const res = await chat('mock:gpt-text')
  const body = (await res.json()) as { error?: { code?: string; message?: string } }
  expect({ status: res.status, code: body.error?.code }).toEqual({ status: 402, code: 'pricing_required' })
  expect(body.error?.message).toContain('audio output')
  expect(mock.calls.length).toBe(0)
})

test('the same with an audio output rate is served (control)', async () => {
  const res = await chat('mock:gpt-audio')
  expect(res.status).toBe(200)
})
