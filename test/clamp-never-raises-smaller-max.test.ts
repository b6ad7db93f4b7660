import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { jsonResponse, scriptedProviders, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'

/**
 * The output clamp lowers what the provider would have made, it never raises it (src/routes/chat.ts
 * clampLowersMax). A chat request to an OpenAI-compatible server (not api.openai.com) with max_completion_tokens
 * 300 and max_tokens 5,000: vLLM, SGLang and Groq read `max_completion_tokens or max_tokens`, so unclamped the
 * server writes at most 300. With a budget for ~1,000 tokens the clamp used to compare only max_tokens (5,000)
 * with its ~1,000, drop max_completion_tokens and send max_tokens ~1,000: ~3x the output the client allowed.
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
      pricing: { 'plain:m': { input_per_million: 1, output_per_million: 100 } }, // 100 micro-USD an output token
    },
  })
})
afterAll(async () => {
  await gw.stop()
  await upstream.stop()
})

describe('the clamp never raises the max a vLLM-like server would have obeyed', () => {
  test('max_completion_tokens 300 + max_tokens 5,000, a budget for ~1,000 tokens: at most 300 tokens made and billed', async () => {
    const ASKED = 300
    const { secret } = await gw.userWithKey({ id: 'clamp-smaller-completion-max', max_budget: 0.1 })
    const res = await fetch(gw.url + '/v1/chat/completions', {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'plain:m', max_completion_tokens: ASKED, max_tokens: 5000, messages: [{ role: 'user', content: 'write a lot' }] }),
    })
    const answer = (await res.json()) as { usage?: { completion_tokens?: number } }
    expect(res.status).toBe(200)
    const sent = upstream.calls.at(-1)!.body
    // What the server obeys: max_completion_tokens, else max_tokens.
    expect(sent.max_completion_tokens ?? sent.max_tokens).toBeLessThanOrEqual(ASKED)
    expect(answer.usage!.completion_tokens!).toBeLessThanOrEqual(ASKED)
  })
})
