import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { jsonResponse, scriptedProviders, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'

/**
 * SPEC §6, output clamp: the max output sent upstream is lowered to what the budget covers, and "the hold
 * still covers the worst case". A chat request to an OpenAI-compatible server (not api.openai.com) with
 * max_tokens 10 and max_completion_tokens 5,000 is held at the larger (servers differ in the one they read:
 * vLLM and Groq read max_completion_tokens first, as the project's own mock does). The budget covers ~1,000
 * tokens: the clamp must not be dropped because the field the gateway expects the server to read is below
 * it, or max_completion_tokens 5,000 would go upstream behind a hold for ~1,000.
 */

let upstream: ScriptedUpstream
let gw: TestGateway

beforeAll(async () => {
  upstream = startScriptedUpstream()
  // A vLLM-like server: max_completion_tokens wins over max_tokens, and it writes as much as it allows.
  upstream.answer(({ body }) => {
    const max = body.max_completion_tokens ?? body.max_tokens
    return jsonResponse({
      id: 'c1', object: 'chat.completion', created: 1, model: body.model,
      choices: [{ index: 0, message: { role: 'assistant', content: 'x' }, finish_reason: 'length' }],
      usage: { prompt_tokens: 5, completion_tokens: max, total_tokens: 5 + max },
    })
  })
  gw = await startTestGateway({
    config: {
      providers: scriptedProviders(upstream),
      clamp_output: true,
      // 100 micro-USD an output token.
      pricing: { 'plain:m': { input_per_million: 1, output_per_million: 100 } },
    },
  })
})
afterAll(async () => {
  await gw.stop()
  await upstream.stop()
})

describe('the clamp bounds every max field the provider may read', () => {
  test('max_tokens 10 + max_completion_tokens 5,000, a budget for ~1,000 tokens: no max above the clamp goes upstream, spend <= max_budget', async () => {
    const { secret } = await gw.userWithKey({ id: 'rd-h-clamp-other', max_budget: 0.1 }) // ~1,000 output tokens
    const res = await fetch(gw.url + '/v1/chat/completions', {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'plain:m', max_tokens: 10, max_completion_tokens: 5000, messages: [{ role: 'user', content: 'write a lot' }] }),
    })
    expect(res.status).toBe(200)
    await res.text()
    const sent = upstream.calls.at(-1)!.body
    const largestSent = Math.max(sent.max_tokens ?? 0, sent.max_completion_tokens ?? 0)
    await gw.settled()
    const user = await gw.admin('GET', '/v1/users/rd-h-clamp-other')
    expect(user.body.spend).toBeLessThanOrEqual(0.1)
    expect(largestSent).toBeLessThanOrEqual(1000)
  })
})
