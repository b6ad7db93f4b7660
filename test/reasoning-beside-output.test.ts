import { describe, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, postResponses, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'

/**
 * Mutation guard: a server that leaves reasoning out of its output count (src/translate/usage.ts
 * `billedOutput`: "the reasoning alone (then reasoning and answer both, when the output count is smaller than its own
 * reasoning part)") is billed the answer AND the reasoning. Existing tests only use an output count of 0 beside the
 * reasoning, where `output + reasoning` and `reasoning` agree, so billing the reasoning alone (dropping the answer's
 * tokens) survived. plain:m: 1 µ$ an input token, 2 µ$ an output token.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
withScriptedGateway({ pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2 } } }, (s) => ({ upstream, gw } = s))

async function billed(user: string, send: (secret: string) => Promise<Response>) {
  const { secret } = await gw.userWithKey({ id: user, max_budget: 10 })
  return settledRow(gw, user, async () => {
    const res = await send(secret)
    expect(res.status).toBe(200)
    await res.text()
  })
}

describe('an output count smaller than its reasoning part: the answer and the reasoning are both billed', () => {
  test('chat: completion_tokens 40 beside reasoning_tokens 600 (no total) bills 640 output tokens', async () => {
    // Mutant killed: billedOutput's `reasoning > output ? output + reasoning : 0` → `reasoning > output ? reasoning : 0`.
    upstream.answer(() =>
      jsonResponse({
        id: 'c1', object: 'chat.completion', created: 1, model: 'm',
        choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 20, completion_tokens: 40, completion_tokens_details: { reasoning_tokens: 600 } },
      }),
    )
    const row = await billed('kc-reason-chat', (secret) =>
      fetch(`${gw.url}/v1/chat/completions`, {
        method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'plain:m', max_tokens: 2000, messages: [{ role: 'user', content: 'think' }] }),
      }),
    )
    expect({ output: row.completion_tokens, cost: row.cost }).toEqual({ output: 640, cost: 20 + 640 * 2 })
  })

  test('Responses: output_tokens 40 beside reasoning_tokens 600 (no total) bills 640 output tokens', async () => {
    upstream.answer(() =>
      jsonResponse({
        id: 'resp_1', object: 'response', created_at: 1, status: 'completed', model: 'm',
        output: [{ type: 'message', id: 'msg_1', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'ok', annotations: [] }] }],
        usage: { input_tokens: 20, output_tokens: 40, output_tokens_details: { reasoning_tokens: 600 } },
      }),
    )
    const row = await billed('kc-reason-resp', (secret) => postResponses(gw, secret, { model: 'plain:m', input: 'think', max_output_tokens: 2000, store: false }))
    expect({ output: row.completion_tokens, cost: row.cost }).toEqual({ output: 640, cost: 20 + 640 * 2 })
  })
})
