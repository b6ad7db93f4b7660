import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { jsonResponse, scriptedProviders, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'

/**
 * SPEC §6, output clamp: "the max output sent upstream is *lowered* to what the budget covers". A chat
 * request that sets both maxima is held at the larger (servers differ in the one they read), but the
 * provider it goes to reads one: translated to Anthropic, `max_completion_tokens` is the max
 * (src/translate/chat-request-to-messages.ts). The clamp works from the held (larger) one, and sends
 * its result whatever the client's effective max was: a max_completion_tokens of 300, with max_tokens
 * 5,000 and a budget that covers ~1,000 tokens, goes upstream as max_tokens ~1,000 — the clamp raises the
 * output the client asked for, and the user pays for up to 3× the output it allowed.
 */

let upstream: ScriptedUpstream
let gw: TestGateway

beforeAll(async () => {
  upstream = startScriptedUpstream()
  // Anthropic writes as much as max_tokens allows.
  upstream.answer(({ body }) =>
    jsonResponse({
      id: 'msg_1', type: 'message', role: 'assistant', model: body.model, content: [{ type: 'text', text: 'ok' }],
      stop_reason: 'max_tokens', stop_sequence: null, usage: { input_tokens: 5, output_tokens: body.max_tokens },
    }),
  )
  gw = await startTestGateway({
    config: {
      providers: scriptedProviders(upstream),
      clamp_output: true,
      // 100 micro-USD an output token.
      pricing: { 'ant:m': { input_per_million: 1, output_per_million: 100 } },
    },
  })
})
afterAll(async () => {
  await gw.stop()
  await upstream.stop()
})

describe('the clamp never raises the max output the provider would have read', () => {
  test('chat → Anthropic: max_completion_tokens 300 (max_tokens 5,000), a budget for ~1,000 tokens: at most 300 go upstream', async () => {
    const ASKED = 300
    const { secret } = await gw.userWithKey({ id: 'rd-clamp-raise', max_budget: 0.1 }) // ~1,000 output tokens
    const res = await fetch(gw.url + '/v1/chat/completions', {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'ant:m', max_completion_tokens: ASKED, max_tokens: 5000, messages: [{ role: 'user', content: 'write a lot' }] }),
    })
    const answer = (await res.json()) as { usage?: { completion_tokens?: number } }
    expect(res.status).toBe(200)
    expect(upstream.calls.at(-1)!.body.max_tokens).toBeLessThanOrEqual(ASKED)
    expect(answer.usage!.completion_tokens!).toBeLessThanOrEqual(ASKED)
  })
})
