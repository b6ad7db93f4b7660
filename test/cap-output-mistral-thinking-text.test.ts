import { describe, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'
import { unbilledInputOf } from './support/unbilled-input'

/**
 * SPEC §6 / README "Input likewise, for a request of text alone": with cap-output on, a request of text alone is charged
 * no more input than held (a proxy's miscount, a count of 2^63, is charged the input held). Mistral's reasoning models
 * (Magistral) answer chat with `content: [{type: "thinking", thinking: [{type: "text", text}]}, {type: "text", text}]`,
 * and the Mistral SDK and OpenAI-compatible clients send that assistant message back on the next turn: text only (a
 * list of text chunks), not media whose size the estimate cannot bound. plain:m: 1 µ$ an input token.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
withScriptedGateway(
  { cap_output_tokens: true, default_max_output_tokens: 64, metrics_enabled: true, pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2 } } },
  (s) => ({ upstream, gw } = s),
)

/** What a proxy miscounting reports for a request of a few hundred bytes. */
const MISCOUNT = 1_000_000

const answer = () =>
  jsonResponse({
    id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: 'm',
    choices: [{ index: 0, message: { role: 'assistant', content: 'Paris.' }, finish_reason: 'stop' }],
    usage: { prompt_tokens: MISCOUNT, completion_tokens: 2, total_tokens: MISCOUNT + 2 },
  })

const MAGISTRAL_TURN = {
  role: 'assistant',
  content: [
    { type: 'thinking', thinking: [{ type: 'text', text: 'The user asks for the capital of France. It is Paris.' }] },
    { type: 'text', text: 'The capital of France is Paris.' },
  ],
}

describe('cap-output on: a Magistral thinking chunk sent back is text, the input capped at the hold', () => {
  test('a miscounted usage of 1,000,000 input tokens for a ~400-byte conversation is charged the input held', async () => {
    const { secret } = await gw.userWithKey({ id: 'magistral', max_budget: 10 })
    upstream.answer(answer)
    let row!: Awaited<ReturnType<typeof settledRow>>
    const unbilled = await unbilledInputOf(gw, 'plain', async () => {
      row = await settledRow(gw, 'magistral', async () => {
        const res = await fetch(`${gw.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
          body: JSON.stringify({
            model: 'plain:m', max_tokens: 16,
            messages: [{ role: 'user', content: 'Capital of France?' }, MAGISTRAL_TURN, { role: 'user', content: 'And of Italy?' }],
          }),
        })
        expect(res.status).toBe(200)
        await res.text()
      })
    })
    expect(row.prompt_tokens).toBe(MISCOUNT)
    // Held a few hundred tokens of text (and the template allowance): charged that, the rest logged unbilled.
    expect(row.cost).toBeLessThan(5_000)
    expect(unbilled).toBeGreaterThan(MISCOUNT - 5_000)
  })
})
