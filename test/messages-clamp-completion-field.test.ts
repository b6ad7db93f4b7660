import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { jsonResponse, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'

/**
 * Mutation guard: /v1/messages translated to OpenAI's own API (src/translate/messages-via-openai.ts).
 * That API reads the output bound from `max_completion_tokens`; the output clamp must lower it THERE. A clamp sent as
 * `max_tokens` beside the client's `max_completion_tokens` bounds nothing at a server that reads the latter: it
 * writes what the client asked, past what the budget covered, and the spend passes max_budget. The existing Azure
 * suite checks the clamp on /v1/chat/completions and the field on /v1/messages, but not the clamp on /v1/messages.
 */

let upstream: ScriptedUpstream
let gw: TestGateway

beforeAll(async () => {
  upstream = startScriptedUpstream()
  // OpenAI's API as far as the bound goes: writes as much as max_completion_tokens allows (max_tokens, if also sent, is not what it reads).
  upstream.answer(({ body }) => {
    const max = body.max_completion_tokens ?? 4096
    return jsonResponse({
      id: 'c1', object: 'chat.completion', created: 1, model: body.model,
      choices: [{ index: 0, message: { role: 'assistant', content: 'x' }, finish_reason: 'length' }],
      usage: { prompt_tokens: 5, completion_tokens: max, total_tokens: 5 + max },
    })
  })
  gw = await startTestGateway({
    config: {
      providers: { oai: { type: 'openai', base_url: `${upstream.url}/v1`, api_key: 'oai-scripted-secret-0123456789', catalog: 'openai' } },
      cap_output_tokens: true,
      clamp_output: true,
      pricing: { 'oai:o3': { input_per_million: 1, output_per_million: 100 } }, // 100 micro-USD an output token
    },
  })
})
afterAll(async () => {
  await gw.stop()
  await upstream.stop()
})

test('/v1/messages to OpenAI, a budget for ~1,000 tokens: the clamped max goes as max_completion_tokens and spend stays within max_budget', async () => {
  const { secret } = await gw.userWithKey({ id: 'oai-messages-clamp', max_budget: 0.1 })
  const res = await fetch(`${gw.url}/v1/messages`, {
    method: 'POST',
    headers: { 'x-api-key': secret, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'oai:o3', max_tokens: 5000, messages: [{ role: 'user', content: 'write a lot' }] }),
  })
  expect(res.status).toBe(200)
  const clamped = Number(res.headers.get('x-output-clamped'))
  await res.text()
  await gw.settled()
  const sent = upstream.calls.at(-1)!.body
  const user = (await gw.admin('GET', '/v1/users/oai-messages-clamp')).body as { spend: number }
  expect(clamped).toBeGreaterThan(0)
  expect({ max_completion_tokens: sent.max_completion_tokens, max_tokens: sent.max_tokens, overBudget: user.spend > 0.1 })
    .toEqual({ max_completion_tokens: clamped, max_tokens: undefined, overBudget: false })
})
