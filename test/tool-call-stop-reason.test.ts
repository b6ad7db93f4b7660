/**
 * A message with tool calls ends for its tool calls, whichever way it is translated. OpenAI (and vLLM) end a tool
 * call forced by name (`tool_choice: {type: "function", …}`) with `finish_reason: "stop"`, Gemini's compatible
 * endpoint every tool call; translated as `end_turn`, the Anthropic message carried a `tool_use` block yet said the
 * turn ended, and the Anthropic SDK's tool runner (`determineNextStepFromStopReason`) and Claude Code stop on
 * `end_turn` and never run the tool. The other way, an Anthropic-compatible server that says `end_turn` beside a
 * `tool_use` block (its own translation of such an answer) reached chat clients as `finish_reason: "stop"`, which a
 * loop running tools on `tool_calls` takes as the end. A cut answer keeps its reason (`length`/`max_tokens`).
 */
import { afterAll, beforeAll, beforeEach, expect, setDefaultTimeout, test } from 'bun:test'
import Anthropic from '@anthropic-ai/sdk'
import { anthropicEvent, jsonResponse, openAIEvent, scriptedGateway, sseResponse, type ScriptedUpstream } from './support/scripted-upstream'
import type { TestGateway } from './support/gateway'

setDefaultTimeout(30_000)

let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string
let stop: () => Promise<void>
let anthropic: Anthropic

beforeAll(async () => {
  ;({ upstream, gw, secret, stop } = await scriptedGateway('team-tool-call-stop'))
  anthropic = new Anthropic({ baseURL: gw.url, apiKey: secret, maxRetries: 0 })
})
afterAll(() => stop())
beforeEach(() => { upstream.calls.length = 0 })

const request = {
  model: 'plain:m',
  max_tokens: 100,
  messages: [{ role: 'user' as const, content: 'Weather in Paris?' }],
  tools: [{ name: 'get_weather', input_schema: { type: 'object' as const, properties: { city: { type: 'string' } } } }],
  tool_choice: { type: 'tool' as const, name: 'get_weather' },
}

test('JSON: a forced tool call answered with finish_reason "stop" ends with stop_reason "tool_use"', async () => {
  upstream.answer(() => jsonResponse({
    id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: 'm',
    choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] } }],
    usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
  }))
  const message = await anthropic.messages.create(request)
  expect(upstream.calls.at(-1)!.body.tool_choice).toEqual({ type: 'function', function: { name: 'get_weather' } })
  expect(message.content as unknown).toEqual([{ type: 'tool_use', id: 'call_1', name: 'get_weather', input: { city: 'Paris' } }])
  expect(message.stop_reason).toBe('tool_use')
})

test('stream: a forced tool call answered with finish_reason "stop" ends with stop_reason "tool_use"', async () => {
  const chunk = (delta: unknown, finish: string | null = null) =>
    openAIEvent({ id: 'chatcmpl-2', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] })
  upstream.answer(() => sseResponse([
    chunk({ role: 'assistant', content: null, tool_calls: [{ index: 0, id: 'call_2', type: 'function', function: { name: 'get_weather', arguments: '' } }] }),
    chunk({ tool_calls: [{ index: 0, function: { arguments: '{"city":"Paris"}' } }] }),
    chunk({}, 'stop'),
    openAIEvent({ id: 'chatcmpl-2', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [], usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 } }),
    openAIEvent('[DONE]'),
  ]))
  const message = await anthropic.messages.stream(request).finalMessage()
  expect(message.content as unknown).toEqual([{ type: 'tool_use', id: 'call_2', name: 'get_weather', input: { city: 'Paris' } }])
  expect(message.stop_reason).toBe('tool_use')
})

test('JSON: a tool call cut at max tokens keeps stop_reason "max_tokens"', async () => {
  upstream.answer(() => jsonResponse({
    id: 'chatcmpl-3', object: 'chat.completion', created: 1, model: 'm',
    choices: [{ index: 0, finish_reason: 'length', message: { role: 'assistant', content: null, tool_calls: [{ id: 'call_3', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Pa' } }] } }],
    usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
  }))
  const message = await anthropic.messages.create(request)
  expect(message.stop_reason).toBe('max_tokens')
})

const chat = (stream: boolean) =>
  fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'ant:m', max_tokens: 100, stream, messages: [{ role: 'user', content: 'Weather in Paris?' }],
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }],
    }),
  })

test('chat → Anthropic, JSON: a tool_use block beside stop_reason "end_turn" ends with finish_reason "tool_calls"', async () => {
  upstream.answer(({ body }) => jsonResponse({
    id: 'msg_4', type: 'message', role: 'assistant', model: body.model,
    content: [{ type: 'tool_use', id: 'toolu_4', name: 'get_weather', input: { city: 'Paris' } }],
    stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: 10, output_tokens: 5 },
  }))
  const res = await chat(false)
  expect(res.status).toBe(200)
  const completion = (await res.json()) as { choices: Array<{ finish_reason: string; message: { tool_calls: Array<{ id: string }> } }> }
  expect(completion.choices[0]!.message.tool_calls.map((call) => call.id)).toEqual(['toolu_4'])
  expect(completion.choices[0]!.finish_reason).toBe('tool_calls')
})

test('chat → Anthropic, stream: a tool_use block beside stop_reason "end_turn" ends with finish_reason "tool_calls"', async () => {
  upstream.answer(({ body }) => sseResponse([
    anthropicEvent({ type: 'message_start', message: { id: 'msg_5', type: 'message', role: 'assistant', model: body.model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 10, output_tokens: 1 } } }),
    anthropicEvent({ type: 'content_block_start', index: 0, content_block: { type: 'tool_use', id: 'toolu_5', name: 'get_weather', input: {} } }),
    anthropicEvent({ type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: '{"city":"Paris"}' } }),
    anthropicEvent({ type: 'content_block_stop', index: 0 }),
    anthropicEvent({ type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 5 } }),
    anthropicEvent({ type: 'message_stop' }),
  ]))
  const res = await chat(true)
  expect(res.status).toBe(200)
  const chunks = (await res.text()).split('\n\n').filter((e) => e.startsWith('data: {')).map((e) => JSON.parse(e.slice(6)))
  const finishes = chunks.flatMap((c) => c.choices).map((choice) => choice.finish_reason).filter((f) => f != null)
  expect(finishes).toEqual(['tool_calls'])
})
