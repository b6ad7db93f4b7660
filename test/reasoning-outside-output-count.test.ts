import { describe, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, openAIEvent, type ScriptedUpstream, sseResponse, withScriptedGateway } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'

/**
 * OpenAI counts reasoning inside `completion_tokens` / `output_tokens`; some OpenAI-compatible servers leave it
 * out and bill it as output all the same (Gemini's thinking through its OpenAI-compatible endpoint:
 * `completion_tokens` 424 with `total_tokens` 1,016 for a 20-token prompt; a translating proxy answering
 * `completion_tokens` 0 beside `reasoning_tokens` 60). The gateway bills the output the counts show at least:
 * the total past the prompt, and the reasoning when the output count is smaller than its own reasoning part.
 * Rates: 1 µ$ an input token, 2 µ$ an output token.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
withScriptedGateway({ pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2 } } }, (s) => ({ upstream, gw } = s))

const completion = (usage: Record<string, unknown>) =>
  jsonResponse({ id: 'c1', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }], usage })

async function billed(user: string, path: string, body: Record<string, unknown>) {
  const { secret } = await gw.userWithKey({ id: user, max_budget: 10 })
  return settledRow(gw, user, async () => {
    const res = await fetch(`${gw.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })
    expect(res.status).toBe(200)
    await res.text()
  })
}

const chat = { model: 'plain:m', max_tokens: 2000, messages: [{ role: 'user', content: 'think' }] }

describe('reasoning a server leaves out of its output count is billed as output', () => {
  test('chat: total_tokens past the prompt and the completion count (Gemini: 20 + 424, total 1,016)', async () => {
    upstream.answer(() => completion({ prompt_tokens: 20, completion_tokens: 424, total_tokens: 1016 }))
    const row = await billed('ro-total', '/v1/chat/completions', chat)
    expect({ output: row.completion_tokens, cost: row.cost }).toEqual({ output: 996, cost: 20 + 996 * 2 })
  })

  test('chat: reasoning_tokens larger than the completion count (a proxy: completion 0, reasoning 60)', async () => {
    upstream.answer(() => completion({ prompt_tokens: 21, completion_tokens: 0, completion_tokens_details: { reasoning_tokens: 60 } }))
    const row = await billed('ro-reasoning', '/v1/chat/completions', chat)
    expect(row.completion_tokens).toBe(60)
  })

  test('chat, streamed: the usage chunk is read the same way', async () => {
    upstream.answer(() =>
      sseResponse([
        openAIEvent({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { role: 'assistant', content: 'ok' }, finish_reason: null }] }),
        openAIEvent({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }),
        openAIEvent({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [], usage: { prompt_tokens: 20, completion_tokens: 424, total_tokens: 1016 } }),
        openAIEvent('[DONE]'),
      ]),
    )
    const row = await billed('ro-stream', '/v1/chat/completions', { ...chat, stream: true, stream_options: { include_usage: true } })
    expect(row.completion_tokens).toBe(996)
  })

  test('Responses: total_tokens past input_tokens', async () => {
    upstream.answer(() =>
      jsonResponse({
        id: 'resp_1', object: 'response', created_at: 1, status: 'completed', model: 'm',
        output: [{ type: 'message', id: 'msg_1', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'ok', annotations: [] }] }],
        usage: { input_tokens: 20, output_tokens: 424, total_tokens: 1016, input_tokens_details: { cached_tokens: 0 }, output_tokens_details: { reasoning_tokens: 0 } },
      }),
    )
    const row = await billed('ro-responses', '/v1/responses', { model: 'plain:m', input: 'think', max_output_tokens: 2000, store: false })
    expect(row.completion_tokens).toBe(996)
  })

  test('OpenAI\'s own counts (reasoning inside the output, total = prompt + output) are billed as they are', async () => {
    upstream.answer(() => completion({ prompt_tokens: 20, completion_tokens: 424, total_tokens: 444, completion_tokens_details: { reasoning_tokens: 400 } }))
    const row = await billed('ro-openai', '/v1/chat/completions', chat)
    expect(row.completion_tokens).toBe(424)
  })
})
