import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * Chat → Anthropic: OpenAI accepts any string as a tool call's `id`; Anthropic validates `tool_use.id` (and the
 * `tool_result.tool_use_id` answering it) against `^[a-zA-Z0-9_-]+$` and refuses the whole request otherwise.
 * A chat history carries ids other servers made — Kimi K2 / Moonshot name calls `functions.get_weather:0`,
 * others use dots or colons — so a conversation that switched model to Claude is refused on every turn. The
 * translation can send it correctly: the id only pairs a call with its result, so any consistent mapping to
 * Anthropic's alphabet keeps the pairing.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
withScriptedGateway({ pricing: { 'ant:m': { input_per_million: 1, output_per_million: 2 } } }, (s) => ({ upstream, gw } = s))

const anthropicAnswer = { id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [{ type: 'text', text: 'Sunny.' }], stop_reason: 'end_turn', usage: { input_tokens: 10, output_tokens: 1 } }

test("a tool call id with '.' and ':' reaches Anthropic in its id alphabet, still pairing the call with its result", async () => {
  upstream.answer(() => jsonResponse(anthropicAnswer))
  const { secret } = await gw.userWithKey({ id: 'dm-tool-id', max_budget: 10 })
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'ant:m',
      max_tokens: 20,
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }],
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'functions.get_weather:0', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
        { role: 'tool', tool_call_id: 'functions.get_weather:0', content: 'sunny, 21C' },
      ],
    }),
  })
  expect(res.status).toBe(200)
  const sent = upstream.calls[0]!.body
  const use = sent.messages[1].content.find((b: any) => b.type === 'tool_use')
  const result = sent.messages[2].content.find((b: any) => b.type === 'tool_result')
  expect(use.id).toMatch(/^[a-zA-Z0-9_-]+$/)
  expect(result.tool_use_id).toBe(use.id)
})
