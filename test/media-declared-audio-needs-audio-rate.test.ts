import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, type ScriptedCall, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * The gateway "refuses any model or feature it cannot price": audio input on a row without
 * `audio_input_per_million` is a 402 `pricing_required` (`unpricedFeature`, src/pricing/features.ts) for an
 * `input_audio` part and for vLLM's `audio_url`. The same recording sent as a chat `file` part that *declares*
 * itself audio (`data:audio/wav;…`, `format: "audio/mpeg"`, `call.mp3`) — the shape LiteLLM and the one-api family
 * pass to Gemini as audio — was detected as timed media (`partIsTimedMedia`) but only landed in
 * `providerDefaults.audioInput` ("may be audio"), which is never refused: it was served, and its audio tokens (Gemini
 * 2.5 Flash: $1.00/M) billed at the text input rate ($0.30/M). A part whose own media type says audio is not a
 * part that "may well not be audio" (README): it is audio input, and needs the audio rate as `input_audio` does.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
const MODEL = 'plain:google/gemini-2.5-flash'

withScriptedGateway(
  {
    cap_output_tokens: true,
    // No audio_input_per_million: the operator has not priced audio input for this model.
    pricing: { [MODEL]: { input_per_million: 0.3, output_per_million: 2.5, context_window_tokens: 1_048_576 } },
  },
  (started) => ({ upstream, gw } = started),
)

const billsAudio = ({ body }: ScriptedCall) =>
  jsonResponse({
    id: 'gen-1', object: 'chat.completion', created: 1, model: body.model,
    choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 32_010, completion_tokens: 2, total_tokens: 32_012, prompt_tokens_details: { audio_tokens: 32_000, cached_tokens: 0 } },
  })

const wav = Buffer.alloc(2000)
wav.write('RIFF\0\0\0\0WAVEfmt ', 0, 'latin1')
const WAV = wav.toString('base64')

async function send(part: unknown, user: string) {
  const { secret } = await gw.userWithKey({ id: user, max_budget: 10 })
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: MODEL, max_tokens: 16, messages: [{ role: 'user', content: [{ type: 'text', text: 'Transcribe it.' }, part] }] }),
  })
  const body = (await res.json()) as { error?: { code?: string } }
  return { status: res.status, code: body.error?.code ?? null }
}

test('control: input_audio on a row without an audio rate is a 402', async () => {
  upstream.answer(billsAudio)
  expect(await send({ type: 'input_audio', input_audio: { data: WAV, format: 'wav' } }, 'declared-audio-control')).toEqual({ status: 402, code: 'pricing_required' })
  expect(upstream.calls.length).toBe(0)
})

test('the same recording in a file part declared audio/wav is refused as audio input is, not billed at the text rate', async () => {
  upstream.answer(billsAudio)
  const part = { type: 'file', file: { file_data: `data:audio/wav;base64,${WAV}`, filename: 'call.wav' } }
  expect(await send(part, 'declared-audio-file')).toEqual({ status: 402, code: 'pricing_required' })
  expect(upstream.calls.length).toBe(0)
})

test('a recording by file id declared audio/mpeg is refused as audio input is, not billed at the text rate', async () => {
  upstream.answer(billsAudio)
  const part = { type: 'file', file: { file_id: 'https://generativelanguage.googleapis.com/v1beta/files/rec-1', format: 'audio/mpeg' } }
  expect(await send(part, 'declared-audio-file-id')).toEqual({ status: 402, code: 'pricing_required' })
  expect(upstream.calls.length).toBe(0)
})
