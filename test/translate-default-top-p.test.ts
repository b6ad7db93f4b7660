import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * Chat → Anthropic: OpenAI clients commonly send `temperature` with `top_p: 1` (OpenAI's default, which asks
 * for nothing). Anthropic's current models refuse the two together (400 "`temperature` and `top_p` cannot both
 * be specified for this model. Please use only one."; Sonnet/Haiku 4.5, Opus 4.1 and later). The translation
 * already serves a default value of an OpenAI field as asking for nothing (`frequency_penalty: 0`…): a
 * `top_p` of 1 (no nucleus cut at all) must not be sent next to a temperature.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
withScriptedGateway({ pricing: { 'ant:m': { input_per_million: 1, output_per_million: 2 } } }, (s) => ({ upstream, gw } = s))

const anthropicAnswer = { id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [{ type: 'text', text: 'ok' }], stop_reason: 'end_turn', usage: { input_tokens: 10, output_tokens: 1 } }

test('temperature with the default top_p: 1 reaches Anthropic as the temperature alone', async () => {
  upstream.answer(() => jsonResponse(anthropicAnswer))
  const { secret } = await gw.userWithKey({ id: 'dm-top-p', max_budget: 10 })
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'ant:m', max_tokens: 20, temperature: 0.2, top_p: 1, messages: [{ role: 'user', content: 'hi' }] }),
  })
  expect(res.status).toBe(200)
  const sent = upstream.calls[0]!.body
  expect({ temperature: sent.temperature, top_p: sent.top_p }).toEqual({ temperature: 0.2, top_p: undefined })
})
