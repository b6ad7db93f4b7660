import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * Chat → Anthropic: OpenAI accepts any string as a tool call's `id`; Anthropic validates `tool_use.id` (and the
 * `tool_result.tool_use_id` answering it) against `^[a-zA-Z0-9_-]+$` and refuses the whole request otherwise.
 * A chat history carries ids other servers made — Kimi K2 / Moonshot name calls `functions.get_weather:0`,
 * others use dots or colons — so a conversation that switched model to Claude was refused on every turn. The
 * id only pairs a call with its result, so one deterministic mapping into Anthropic's alphabet keeps the
 * pairing; ids that differ only in the characters replaced stay distinct, and ids Anthropic takes are kept.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
withScriptedGateway({ pricing: { 'ant:m': { input_per_million: 1, output_per_million: 2 } } }, (s) => ({ upstream, gw } = s))

const anthropicAnswer = { id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [{ type: 'text', text: 'Sunny.' }], stop_reason: 'end_turn', usage: { input_tokens: 10, output_tokens: 1 } }
const ANTHROPIC_ID = /^[a-zA-Z0-9_-]+$/

const call = (id: string, city: string) => ({ id, type: 'function', function: { name: 'get_weather', arguments: JSON.stringify({ city }) } })

async function sendToolTurn(user: string, ids: string[]) {
  upstream.answer(() => jsonResponse(anthropicAnswer))
  const { secret } = await gw.userWithKey({ id: user, max_budget: 10 })
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'ant:m',
      max_tokens: 20,
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }],
      messages: [
        { role: 'user', content: 'Weather?' },
        { role: 'assistant', content: null, tool_calls: ids.map((id, i) => call(id, `city ${i}`)) },
        ...ids.map((id, i) => ({ role: 'tool', tool_call_id: id, content: `sunny ${i}` })),
      ],
    }),
  })
  expect(res.status).toBe(200)
  const sent = upstream.calls[0]!.body
  const uses = (sent.messages[1].content as Array<{ type: string; id: string; input: { city: string } }>).filter((b) => b.type === 'tool_use')
  const results = (sent.messages[2].content as Array<{ type: string; tool_use_id: string; content: string }>).filter((b) => b.type === 'tool_result')
  return { uses, results }
}

test("a tool call id with '.' and ':' reaches Anthropic in its id alphabet, still pairing the call with its result", async () => {
  const { uses, results } = await sendToolTurn('tool-id-kimi', ['functions.get_weather:0'])
  expect(uses[0]!.id).toMatch(ANTHROPIC_ID)
  expect(results[0]!.tool_use_id).toBe(uses[0]!.id)
})

test('ids that differ only in characters Anthropic refuses stay distinct, each paired with its own result; valid ids are kept', async () => {
  const { uses, results } = await sendToolTurn('tool-id-distinct', ['a.b', 'a:b', 'a_b', 'call_1'])
  const ids = uses.map((u) => u.id)
  for (const id of ids) expect(id).toMatch(ANTHROPIC_ID)
  expect(new Set(ids).size).toBe(4)
  expect(ids.slice(2)).toEqual(['a_b', 'call_1'])
  // Result i answers call i: the pairing survives the mapping.
  expect(results.map((r) => [r.tool_use_id, r.content])).toEqual(ids.map((id, i) => [id, `sunny ${i}`]))
})
