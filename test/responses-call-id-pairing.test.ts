import { expect, setDefaultTimeout, test } from 'bun:test'
import { jsonResponse, postResponses, scriptedProviders, withScriptedGateway, type ScriptedUpstream } from './support/scripted-upstream'
import type { TestGateway } from './support/gateway'

/**
 * Mutation guard: a `function_call_output` is paired with its call by `call_id`, never by its own
 * item `id`. The Agents SDK and a client replaying a stored response's output send both fields on both items
 * (`{type: 'function_call', id: 'fc_…', call_id: 'call_…'}`, `{type: 'function_call_output', id: 'fco_…',
 * call_id: 'call_…'}`). Paired by the item id, the tool message (chat's `tool_call_id`, Anthropic's
 * `tool_result.tool_use_id`) names no call the assistant made, and the provider refuses the turn (400).
 * No suite sent an output item with an `id` through either translation, so a translator that read `item.id ??
 * item.call_id` for the output passed every test.
 */
setDefaultTimeout(30_000)

let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string

withScriptedGateway(
  (u) => ({
    providers: { ...scriptedProviders(u), chat: { ...scriptedProviders(u).plain, responses: 'chat' } },
    pricing: { 'chat:m': { input_per_million: 1, output_per_million: 2 }, 'ant:m': { input_per_million: 1, output_per_million: 2 } },
  }),
  (s) => {
    upstream = s.upstream
    gw = s.gw
  },
)

const loop = (model: string) => ({
  model,
  store: false,
  tools: [{ type: 'function', name: 'get_time', parameters: { type: 'object', properties: {} } }],
  input: [
    { role: 'user', content: 'time?' },
    { type: 'function_call', id: 'fc_item_1', call_id: 'call_1', name: 'get_time', arguments: '{}', status: 'completed' },
    { type: 'function_call_output', id: 'fco_item_1', call_id: 'call_1', output: '12:00' },
  ],
})

test('through chat: the tool message names the call_id the assistant tool call has', async () => {
  ;({ secret } = await gw.userWithKey({ id: 'rt-lp-callid-chat', max_budget: 10 }))
  upstream.answer(() =>
    jsonResponse({
      id: 'c1', object: 'chat.completion', created: 1, model: 'm',
      choices: [{ index: 0, message: { role: 'assistant', content: 'noon' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 10, completion_tokens: 2, total_tokens: 12 },
    }),
  )
  const res = await postResponses(gw, secret, loop('chat:m'))
  expect(res.status).toBe(200)
  const messages: any[] = upstream.calls.findLast((c) => c.path.endsWith('/chat/completions'))!.body.messages
  const assistant = messages.find((m) => m.role === 'assistant')
  const tool = messages.find((m) => m.role === 'tool')
  expect(assistant.tool_calls[0].id).toBe('call_1')
  expect(tool.tool_call_id).toBe('call_1')
})

test('to Anthropic: the tool_result names the tool_use it answers', async () => {
  ;({ secret } = await gw.userWithKey({ id: 'rt-lp-callid-ant', max_budget: 10 }))
  upstream.answer(() =>
    jsonResponse({
      id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [{ type: 'text', text: 'noon' }],
      stop_reason: 'end_turn', usage: { input_tokens: 10, output_tokens: 2 },
    }),
  )
  const res = await postResponses(gw, secret, loop('ant:m'))
  expect(res.status).toBe(200)
  const messages: any[] = upstream.calls.findLast((c) => c.path.endsWith('/v1/messages'))!.body.messages
  const blocks = messages.flatMap((m) => (Array.isArray(m.content) ? m.content : []))
  const use = blocks.find((b) => b.type === 'tool_use')
  const result = blocks.find((b) => b.type === 'tool_result')
  expect(use.id).toBe('call_1')
  expect(result.tool_use_id).toBe('call_1')
})

