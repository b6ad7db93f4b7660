import { describe, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * Audio sent to a stored response stays in its context: a later turn continuing it (`previous_response_id`, or
 * the same `conversation`) has the provider read that audio again, billed as `input_tokens_details.audio_tokens`
 * at the audio rate. The continuation's own body has no audio part; each stored id records whether its context
 * holds audio (its own input, or anything it continues), so the continuation asks for audio input: held at the
 * audio rate when priced (with cap-output on, spend stays within max_budget), 402 when the target has no audio rate.
 * `audio:m`: $1/$2 per million, audio input at $40 per million; `audio:text`: the same without an audio rate.
 */
let upstream: ScriptedUpstream
let gw: TestGateway

withScriptedGateway(
  (u) => ({
    providers: { audio: { type: 'openai', base_url: `${u.url}/v1`, api_key: 'sk-scripted-secret-0123456789' } },
    pricing: {
      'audio:m': { input_per_million: 1, output_per_million: 2, audio_input_per_million: 40 },
      'audio:text': { input_per_million: 1, output_per_million: 2 },
    },
    cap_output_tokens: true,
    default_max_output_tokens: 64,
  }),
  (started) => ({ upstream, gw } = started),
)

const AUDIO = 'UklGR'.padEnd(20_000, 'A') // 20,000 bytes of base64 wav
const LISTEN = [{ role: 'user', content: [{ type: 'input_text', text: 'Listen.' }, { type: 'input_audio', input_audio: { data: AUDIO, format: 'wav' } }] }]

/** An answer billing `inputTokens`, 20,000 of them audio (the audio in the context), in `conversation` if named. */
const answer = (inputTokens: number, conversation?: string) => () =>
  jsonResponse({
    id: `resp_${crypto.randomUUID()}`, object: 'response', status: 'completed', model: 'm',
    ...(conversation ? { conversation: { id: conversation } } : {}),
    usage: { input_tokens: inputTokens, input_tokens_details: { cached_tokens: 0, audio_tokens: 20_000 }, output_tokens: 5, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: inputTokens + 5 },
    output: [{ type: 'message', id: `msg_${crypto.randomUUID()}`, role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'ok', annotations: [] }] }],
  })
const post = (secret: string, body: Record<string, unknown>) =>
  fetch(`${gw.url}/v1/responses`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })

/** Posts a turn the provider answers with `reply`, and waits for it to be settled: its response id. */
async function turn(secret: string, body: Record<string, unknown>, reply: () => Response): Promise<string> {
  upstream.answer(reply)
  const res = await post(secret, { max_output_tokens: 16, ...body })
  expect(res.status).toBe(200)
  const { id } = (await res.json()) as { id: string }
  await gw.settled()
  return id
}

/** Whether the stored id's row says its context holds audio (SQLite keeps the boolean as 0 or 1). */
const holdsAudio = (id: string) => {
  const [row] = gw.query<{ holds_audio: unknown }>('SELECT holds_audio FROM stored_responses WHERE id = ?', id)
  return row && Boolean(row.holds_audio)
}

const spendWithinBudget = async (user: string) => {
  const { spend, max_budget } = (await gw.admin('GET', `/v1/users/${user}`)).body
  return spend <= max_budget
}

describe('audio kept in a stored context is audio input on every later turn', () => {
  test('a turn continuing a stored response that holds audio is held at the audio rate: spend stays within max_budget', async () => {
    const { secret } = await gw.userWithKey({ id: 'audio-context-previous', max_budget: 1 })
    // Settles ~$0.80 of the $1 budget.
    const id = await turn(secret, { model: 'audio:m', input: LISTEN }, answer(20_010))
    // The provider reads the stored audio again: 20,000 audio tokens at $40/M, $0.80, where ~$0.20 is left.
    upstream.answer(answer(20_030))
    const second = await post(secret, { model: 'audio:m', max_output_tokens: 16, previous_response_id: id, input: 'And again?' })
    await second.text()
    await gw.settled()
    expect(await spendWithinBudget('audio-context-previous')).toBe(true)
  })

  test('a later turn of a conversation that holds audio is held at the audio rate too', async () => {
    const { secret } = await gw.userWithKey({ id: 'audio-context-conversation', max_budget: 1 })
    await turn(secret, { model: 'audio:m', input: LISTEN }, answer(20_010, 'conv_audio'))
    expect(holdsAudio('conv_audio')).toBe(true)
    upstream.answer(answer(20_030, 'conv_audio'))
    const second = await post(secret, { model: 'audio:m', max_output_tokens: 16, conversation: 'conv_audio', input: 'And again?' })
    await second.text()
    await gw.settled()
    expect(await spendWithinBudget('audio-context-conversation')).toBe(true)
  })

  test('carried along the chain: two turns on, a model without an audio rate is refused 402 before any call', async () => {
    const { secret } = await gw.userWithKey({ id: 'audio-context-chain', max_budget: 10 })
    const first = await turn(secret, { model: 'audio:m', input: LISTEN }, answer(20_010))
    const second = await turn(secret, { model: 'audio:m', previous_response_id: first, input: 'And again?' }, answer(20_030))
    expect([holdsAudio(first), holdsAudio(second)]).toEqual([true, true])
    upstream.calls.length = 0
    const third = await post(secret, { model: 'audio:text', max_output_tokens: 16, previous_response_id: second, input: 'Once more?' })
    const { error } = (await third.json()) as { error: { code: string; message: string } }
    expect({ status: third.status, code: error.code, calls: upstream.calls.length }).toEqual({ status: 402, code: 'pricing_required', calls: 0 })
    expect(error.message).toContain('audio input')
  })

  test('a stored context without audio is text: continued on a model without an audio rate, it is served', async () => {
    const { secret } = await gw.userWithKey({ id: 'audio-context-none', max_budget: 10 })
    const text = () => jsonResponse({
      id: `resp_${crypto.randomUUID()}`, object: 'response', status: 'completed', model: 'text',
      usage: { input_tokens: 20, input_tokens_details: { cached_tokens: 0 }, output_tokens: 5, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 25 },
      output: [{ type: 'message', id: `msg_${crypto.randomUUID()}`, role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'ok', annotations: [] }] }],
    })
    const first = await turn(secret, { model: 'audio:m', input: 'Hello.' }, text)
    const second = await turn(secret, { model: 'audio:text', previous_response_id: first, input: 'And again?' }, text)
    expect([holdsAudio(first), holdsAudio(second)]).toEqual([false, false])
  })
})
