import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * Chat → Anthropic: OpenAI clients commonly send `temperature` with `top_p: 1` (OpenAI's default, which asks
 * for nothing). Anthropic's current models refuse the two together (400 "`temperature` and `top_p` cannot both
 * be specified for this model. Please use only one."; Sonnet/Haiku 4.5, Opus 4.1 and later). The translation
 * serves a default value of an OpenAI field as asking for nothing (`frequency_penalty: 0`…): a `top_p` of 1
 * (no nucleus cut at all) is not sent; one below 1 asks for a cut and is.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
withScriptedGateway({ pricing: { 'ant:m': { input_per_million: 1, output_per_million: 2 } } }, (s) => ({ upstream, gw } = s))

const anthropicAnswer = { id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [{ type: 'text', text: 'ok' }], stop_reason: 'end_turn', usage: { input_tokens: 10, output_tokens: 1 } }

const sampling = async (user: string, fields: Record<string, number>) => {
  upstream.answer(() => jsonResponse(anthropicAnswer))
  const { secret } = await gw.userWithKey({ id: user, max_budget: 10 })
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'ant:m', max_tokens: 20, ...fields, messages: [{ role: 'user', content: 'hi' }] }),
  })
  expect(res.status).toBe(200)
  const sent = upstream.calls.at(-1)!.body
  return { temperature: sent.temperature, top_p: sent.top_p }
}

test('temperature with the default top_p: 1 reaches Anthropic as the temperature alone', async () => {
  expect(await sampling('top-p-default', { temperature: 0.2, top_p: 1 })).toEqual({ temperature: 0.2, top_p: undefined })
})

test('a top_p below 1 asks for a nucleus cut and is sent', async () => {
  expect(await sampling('top-p-cut', { top_p: 0.9 })).toEqual({ temperature: undefined, top_p: 0.9 })
})
