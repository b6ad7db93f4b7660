/**
 * Red team (jy): fix-answerbound (010d48bf) bounds a chat JSON answer by its held output tokens at 64 bytes a token
 * (src/translate/answer-bound.ts), 4 KiB a token only for image output. Audio output is not counted: a chat answer
 * with `modalities: ["text", "audio"]` carries its audio base64 in `message.audio.data`, and the gateway itself
 * knows the rate (src/metering/generated-output.ts: 24 kHz 16-bit mono PCM, 48,000 bytes a second, ~20 audio
 * tokens a second): ~3,200 bytes of base64 an audio token, 50x the bound's 64. So any non-streamed wav/pcm16 audio
 * answer longer than ~8.7 minutes (~10,500 audio tokens, well inside gpt-4o-audio-preview's 16,384 max output the
 * gateway admitted and held) is past the 32 MiB floor: refused 502 and charged its whole hold, the provider having
 * generated and billed it. README ("An answer read whole is read up to what its request can make, as its hold
 * counts it") says it is relayed.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { fixedJsonProvider } from './support/fixed-json-provider'
import { startTestGateway, type TestGateway } from './support/gateway'
import { settledRow } from './support/settled-row'

const SECONDS = 560 // 9 min 20 s of speech
const AUDIO_TOKENS = SECONDS * 20 // 11,200
const TEXT_TOKENS = 1_400 // its transcript
const PCM_BYTES = SECONDS * 48_000 // 26.9 MB of 24 kHz 16-bit mono

const provider = fixedJsonProvider()

let gw: TestGateway
let secret: string

beforeAll(async () => {
  const data = Buffer.alloc(PCM_BYTES, 7).toString('base64')
  provider.wire = new TextEncoder().encode(JSON.stringify({
    id: 'chatcmpl-audio', object: 'chat.completion', created: 1, model: 'gpt-4o-audio-preview',
    choices: [{
      index: 0,
      message: { role: 'assistant', content: null, refusal: null, audio: { id: 'audio_abc', expires_at: 2_000_000_000, data, transcript: 'Once upon a time '.repeat(350) } },
      finish_reason: 'stop',
    }],
    usage: {
      prompt_tokens: 20, completion_tokens: AUDIO_TOKENS + TEXT_TOKENS, total_tokens: 20 + AUDIO_TOKENS + TEXT_TOKENS,
      prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 0, audio_tokens: AUDIO_TOKENS, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
    },
  }))
  gw = await startTestGateway({
    config: {
      providers: { oai: { type: 'openai', base_url: `http://127.0.0.1:${provider.server.port}/v1`, api_key: 'sk-upstream-secret-0123456789' } },
      pricing: { 'oai:gpt-4o-audio-preview': { input_per_million: 2.5, output_per_million: 10, audio_input_per_million: 40, audio_output_per_million: 80 } },
    },
  })
  ;({ secret } = await gw.userWithKey({ id: 'rt-jy-audio', max_budget: 10 }))
}, 60_000)

afterAll(async () => {
  await gw?.stop()
  await provider.server.stop(true)
})

test('a 9-minute wav audio answer the gateway admitted and held for is relayed and billed by its usage, not refused 502 at its whole hold', async () => {
  console.log(`answer on the provider.wire: ${(provider.wire.byteLength / 1024 / 1024).toFixed(1)} MiB for ${AUDIO_TOKENS} audio tokens (${Math.round(provider.wire.byteLength / AUDIO_TOKENS)} bytes a token)`)
  let status = 0
  let audioBytes = 0
  let message = ''
  const row = await settledRow(gw, 'rt-jy-audio', async () => {
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'oai:gpt-4o-audio-preview',
        modalities: ['text', 'audio'],
        audio: { voice: 'alloy', format: 'wav' },
        max_completion_tokens: 16_384,
        messages: [{ role: 'user', content: 'Read me the whole first chapter aloud.' }],
      }),
    })
    status = res.status
    const body = (await res.json()) as any
    audioBytes = body.choices?.[0]?.message?.audio?.data?.length ?? 0
    message = body.error?.message ?? ''
  })
  console.log(`status ${status} ${message}; row ${JSON.stringify(row)}`)
  expect({ status, message }).toEqual({ status: 200, message: '' })
  expect(audioBytes).toBe(Math.ceil(PCM_BYTES / 3) * 4)
  expect(row.status).toBe('ok')
  expect(row.cost).toBeLessThan(row.reserved)
}, 60_000)
