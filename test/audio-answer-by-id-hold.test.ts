import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { ownAudioAnswer } from './support/audio-answer'
import { spendAtHeldBudget } from './support/held-budget'
import { jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * A chat message may name an earlier audio answer by id (`{role: 'assistant', audio: {id}}`); OpenAI reads that
 * audio again as audio input (earlier turns' output, audio and transcript, becomes later turns' input). An answer
 * can be as long as the model's max output: gpt-4o-audio-preview and gpt-audio allow 16,384 completion tokens,
 * all of them audio. With cap-output on (SPEC §6: `spend <= max_budget` is an invariant) such a reference is held
 * at `AUDIO_ANSWER_MAX_TOKENS` (16,384) at the audio input rate, not at the media bound (4,096 by default, which
 * still applies with cap-output off): it was held 0.168720 and billed 0.655460 (16,384 × $40/M).
 */
let upstream: ScriptedUpstream
let gw: TestGateway
const PRIOR_AUDIO_TOKENS = 16_384

withScriptedGateway(
  {
    cap_output_tokens: true,
    pricing: { 'plain:audio': { input_per_million: 2.5, output_per_million: 10, audio_input_per_million: 40, audio_output_per_million: 80 } },
  },
  (started) => ({ upstream, gw } = started),
)

test('cap-output on: an earlier audio answer by id (16,384 audio tokens) never takes spend past max_budget', async () => {
  upstream.answer(({ body }) =>
    jsonResponse({
      id: 'c1', object: 'chat.completion', created: 1, model: body.model,
      choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
      // The earlier answer's audio, read again as audio input, plus a few text tokens.
      usage: { prompt_tokens: PRIOR_AUDIO_TOKENS + 20, completion_tokens: 5, total_tokens: PRIOR_AUDIO_TOKENS + 25, prompt_tokens_details: { audio_tokens: PRIOR_AUDIO_TOKENS } },
    }),
  )
  // Each user names an audio answer of its own: another user's is refused 404.
  const body = (userId: string) => {
    ownAudioAnswer(gw, userId, `audio_${userId}`)
    return {
      model: 'plain:audio',
      max_completion_tokens: 16,
      messages: [
        { role: 'user', content: 'Tell me a long story.' },
        { role: 'assistant', audio: { id: `audio_${userId}` } },
        { role: 'user', content: 'Summarise it in a word.' },
      ],
    }
  }
  const { spend, budget } = await spendAtHeldBudget(gw, '/v1/chat/completions', body, 'audio')
  // Either refused up front, or held for the audio it can bring: never spent past the budget.
  expect(spend).toBeLessThanOrEqual(budget)
})
