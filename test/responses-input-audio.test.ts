import { describe, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * The Responses API takes audio input as a message part, `{type: "input_audio", input_audio: {data, format}}`
 * (openai-node `ResponseInputAudio`), billed by `input_tokens_details.audio_tokens` at the audio rate (README
 * "Features billed beyond tokens": audio (OpenAI)). As on chat, such a part — in a message's content or in a
 * tool's output — asks for the audio-input feature: refused unpriced (402 naming it), held at the audio rate
 * when priced, so that with cap-output on spend never passes max_budget.
 * `plain:m`: $1/$2 per million, no audio rate; `audio:m`: the same with audio input at $40 per million.
 */
let upstream: ScriptedUpstream
let gw: TestGateway

withScriptedGateway(
  (u) => ({
    providers: {
      plain: { type: 'openai', base_url: `${u.url}/v1`, api_key: 'sk-scripted-secret-0123456789' },
      audio: { type: 'openai', base_url: `${u.url}/v1`, api_key: 'sk-scripted-secret-0123456789' },
    },
    pricing: {
      'plain:m': { input_per_million: 1, output_per_million: 2 },
      'audio:m': { input_per_million: 1, output_per_million: 2, audio_input_per_million: 40 },
    },
    cap_output_tokens: true,
    default_max_output_tokens: 64,
  }),
  (started) => ({ upstream, gw } = started),
)

const AUDIO = 'UklGR'.padEnd(20_000, 'A') // 20,000 bytes of base64 wav
const heard = () =>
  jsonResponse({
    id: `resp_${crypto.randomUUID()}`, object: 'response', status: 'completed', model: 'm',
    usage: { input_tokens: 20_010, input_tokens_details: { cached_tokens: 0, audio_tokens: 20_000 }, output_tokens: 5, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 20_015 },
    output: [{ type: 'message', id: `msg_${crypto.randomUUID()}`, role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'ok', annotations: [] }] }],
  })
const AUDIO_PART = { type: 'input_audio', input_audio: { data: AUDIO, format: 'wav' } }
const responsesBody = (model: string) => ({
  model,
  max_output_tokens: 16,
  input: [{ role: 'user', content: [{ type: 'input_text', text: 'What is said?' }, AUDIO_PART] }],
})
/** The same audio as what a client's tool returned. */
const toolOutputBody = (model: string) => ({
  model,
  max_output_tokens: 16,
  input: [
    { role: 'user', content: 'Record the room and tell me what is said.' },
    { type: 'function_call', call_id: 'call_rec', name: 'record', arguments: '{}' },
    { type: 'function_call_output', call_id: 'call_rec', output: [AUDIO_PART] },
  ],
})
const post = (secret: string, path: string, body: Record<string, unknown>) =>
  fetch(`${gw.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })

describe('audio input on the Responses API', () => {
  test('unpriced: refused with 402 pricing_required before any call, as on chat', async () => {
    const { secret } = await gw.userWithKey({ id: 'responses-audio-unpriced', max_budget: 10 })
    upstream.answer(heard)
    const chat = await post(secret, '/v1/chat/completions', {
      model: 'plain:m', max_tokens: 16, messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: { data: AUDIO, format: 'wav' } }] }],
    })
    expect(chat.status).toBe(402)
    await chat.text()
    for (const body of [responsesBody('plain:m'), toolOutputBody('plain:m')]) {
      const res = await post(secret, '/v1/responses', body)
      const { error } = (await res.json()) as { error: { code: string; message: string } }
      expect({ status: res.status, code: error.code, calls: upstream.calls.length }).toEqual({ status: 402, code: 'pricing_required', calls: 0 })
      expect(error.message).toContain('audio input')
    }
  })

  test.each([
    ['a message', responsesBody],
    ['a tool output', toolOutputBody],
  ])('priced, in %s: held at the audio rate, so spend never passes max_budget with cap-output on', async (where, body) => {
    // $0.10: the text-rate hold (~20,100 tokens at $1/M) fits; 20,000 audio tokens at $40/M ($0.80) do not.
    const id = `responses-audio-priced-${where.replaceAll(' ', '-')}`
    const { secret } = await gw.userWithKey({ id, max_budget: 0.1 })
    upstream.answer(heard)
    const res = await post(secret, '/v1/responses', body('audio:m'))
    await res.text()
    await gw.settled()
    const user = (await gw.admin('GET', `/v1/users/${id}`)).body
    expect(user.spend).toBeLessThanOrEqual(user.max_budget)
  })
})
