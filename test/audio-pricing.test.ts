import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { startMockProvider, type MockProvider } from './support/mock-provider'

/**
 * Audio routes bill per request (SPEC §5): a model with no price is served at $0, one with a `per_request`
 * price pays it. OpenAI bills gpt-4o-transcribe and gpt-4o-mini-tts by tokens, and the price catalog writes
 * them token rates only: the route cannot bill those, so such a model is refused while pricing is required
 * rather than served at $0.
 */
let mock: MockProvider
let gw: TestGateway
let secret: string

beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({
    mock,
    config: {
      pricing: {
        // The catalog's rows for OpenAI's token-billed audio models.
        'mock:gpt-4o-mini-tts': { input_per_million: 0.6, output_per_million: 12 },
        'mock:gpt-4o-transcribe': { input_per_million: 2.5, output_per_million: 10, audio_input_per_million: 6 },
        'mock:tts-per-request': { input_per_million: 0.6, output_per_million: 12, per_request: 0.015 },
        'mock:tts-free': { input_per_million: 0, output_per_million: 0 },
      },
    },
  })
  secret = (await gw.userWithKey({ id: 'audio-priced', max_budget: 10 })).secret
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})

const speech = (model: string) =>
  fetch(gw.url + '/v1/audio/speech', {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, input: 'hello there', voice: 'alloy' }),
  })

const transcription = (model: string) => {
  const form = new FormData()
  form.append('model', model)
  form.append('file', new File([new Uint8Array(2048)], 'a.mp3', { type: 'audio/mpeg' }))
  return fetch(gw.url + '/v1/audio/transcriptions', { method: 'POST', headers: { authorization: `Bearer ${secret}` }, body: form })
}

const spend = async () => {
  await gw.settled()
  return (await gw.admin('GET', '/v1/users/audio-priced')).body.spend as number
}

describe('audio priced by tokens, which a per-request route cannot bill', () => {
  test('speech and transcription on a model priced only by tokens: 402 pricing_required, no provider call, nothing spent', async () => {
    const calls = mock.calls.length
    for (const res of [await speech('mock:gpt-4o-mini-tts'), await transcription('mock:gpt-4o-transcribe')]) {
      expect(res.status).toBe(402)
      const body = (await res.json()) as { error: { code: string; message: string } }
      expect(body.error.code).toBe('pricing_required')
      expect(body.error.message).toContain('per_request')
    }
    expect(mock.calls.length).toBe(calls)
    expect(await spend()).toBe(0)
  })

  test('a per_request price is charged; a 0/0 row and an unpriced model are served free', async () => {
    const paid = await speech('mock:tts-per-request')
    expect(paid.status).toBe(200)
    await paid.arrayBuffer()
    expect(await spend()).toBe(0.015)
    for (const res of [await speech('mock:tts-free'), await speech('mock:tts-mock'), await transcription('mock:whisper')]) {
      expect(res.status).toBe(200)
      await res.arrayBuffer()
    }
    expect(await spend()).toBe(0.015)
  })
})
