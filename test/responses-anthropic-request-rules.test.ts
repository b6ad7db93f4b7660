import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, postResponses, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * Responses → Anthropic keeps the rules chat → Anthropic keeps, where OpenAI takes what Anthropic refuses with
 * a 400: blank text (empty or only whitespace) is left out, not sent as a text block; a tool call id outside
 * `^[a-zA-Z0-9_-]+$` (Kimi's `functions.get_weather:0`) is mapped into it, the same in the call and its result;
 * a final assistant message (a prefill) loses its trailing whitespace; the default `top_p: 1` is not sent
 * beside a temperature; a conversation left with no message is refused naming `input`, before any call.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
withScriptedGateway({ pricing: { 'ant:m': { input_per_million: 1, output_per_million: 2 } } }, (s) => ({ upstream, gw } = s))

const anthropicAnswer = { id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [{ type: 'text', text: 'ok' }], stop_reason: 'end_turn', usage: { input_tokens: 10, output_tokens: 1 } }

async function send(user: string, body: Record<string, unknown>) {
  upstream.answer(() => jsonResponse(anthropicAnswer))
  const { secret } = await gw.userWithKey({ id: user, max_budget: 10 })
  return postResponses(gw, secret, { model: 'ant:m', max_output_tokens: 20, store: false, ...body })
}

test('blank instructions, system text and message text are left out; tool call ids are mapped into Anthropic\'s alphabet, still paired', async () => {
  const res = await send('responses-rules-blank-ids', {
    instructions: ' ',
    tools: [{ type: 'function', name: 'get_weather', parameters: { type: 'object', properties: {} } }],
    input: [
      { role: 'developer', content: '' },
      { role: 'user', content: [{ type: 'input_text', text: '\n' }, { type: 'input_text', text: 'Weather?' }] },
      { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: '\n\n' }] },
      { type: 'function_call', call_id: 'functions.get_weather:0', name: 'get_weather', arguments: '{}' },
      { type: 'function_call_output', call_id: 'functions.get_weather:0', output: 'sunny' },
    ],
  })
  await res.arrayBuffer()
  expect(res.status).toBe(200)
  const sent = upstream.calls[0]!.body
  expect(sent.system).toBeUndefined()
  const blocks = (sent.messages as Array<{ content: Array<{ type: string; text?: string; id?: string; tool_use_id?: string }> }>).flatMap((m) => m.content)
  expect(blocks.filter((b) => b.type === 'text' && b.text!.trim() === '')).toEqual([])
  const use = blocks.find((b) => b.type === 'tool_use')!
  expect(use.id).toMatch(/^[a-zA-Z0-9_-]+$/)
  expect(blocks.find((b) => b.type === 'tool_result')!.tool_use_id).toBe(use.id)
})

test('a final assistant message loses its trailing whitespace; top_p 1 beside a temperature is not sent', async () => {
  const res = await send('responses-rules-prefill', {
    temperature: 0.2,
    top_p: 1,
    input: [
      { role: 'user', content: 'Give me the JSON.' },
      { role: 'assistant', content: 'Here it is:\n' },
    ],
  })
  await res.arrayBuffer()
  expect(res.status).toBe(200)
  const sent = upstream.calls[0]!.body
  expect(sent.messages.at(-1)).toEqual({ role: 'assistant', content: [{ type: 'text', text: 'Here it is:' }] })
  expect({ temperature: sent.temperature, top_p: sent.top_p }).toEqual({ temperature: 0.2, top_p: undefined })
})

test('input of nothing but blank text is refused naming input, before any call', async () => {
  const res = await send('responses-rules-blank-only', { instructions: 'Be brief.', input: '  ' })
  const text = await res.text()
  expect({ status: res.status, namesInput: text.includes('Invalid body: input:'), calls: upstream.calls.length }).toEqual({ status: 400, namesInput: true, calls: 0 })
})
