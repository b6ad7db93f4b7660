import { expect, setDefaultTimeout, test } from 'bun:test'
import type Anthropic from '@anthropic-ai/sdk'
import type OpenAI from 'openai'
import { ToolCallKeys } from '../src/translate/tool-call-keys'
import { openAIEvent, sseResponse, type ScriptedUpstream } from './support/scripted-upstream'
import { withTranslatingGateway } from './support/translating-gateway'

setDefaultTimeout(30_000)

/**
 * "A new id at an index whose call already has an id opens a new call" (for Ollama, which streams each parallel
 * call whole at `index: 0`) split one call of servers that change the id WITHIN a call: Poolside's
 * /chat/completions streams the first fragment (with the function name) under one id and every argument fragment
 * after it under another (poolsideai/pool#9; openai-go and the other index-keyed accumulators merge them, as the
 * gateway did before). One call became two tool_use blocks: `get_weather` with input {} and a nameless one holding
 * the arguments, so the agent ran get_weather without its arguments. A new id at a reused index now opens a new
 * call only when it names a function and the call at that index is already whole JSON (Ollama's calls are).
 */
let upstream: ScriptedUpstream
let anthropic: Anthropic
let openai: OpenAI

withTranslatingGateway('tool-id-changes', (started) => ({ upstream, anthropic, openai } = started))

const head = { id: 'chatcmpl-p', object: 'chat.completion.chunk', created: 1, model: 'malibu' }
const chunk = (delta: unknown, finish: string | null = null) => openAIEvent({ ...head, choices: [{ index: 0, delta, finish_reason: finish }] })

/** Poolside's: the name under one id, the argument fragments under another, all `index: 0`. */
const poolsideCall = () =>
  sseResponse([
    chunk({ role: 'assistant', tool_calls: [{ index: 0, id: 'call_first', type: 'function', function: { name: 'get_weather', arguments: '' } }] }),
    chunk({ tool_calls: [{ index: 0, id: 'call_canonical', type: 'function', function: { arguments: '{"city":' } }] }),
    chunk({ tool_calls: [{ index: 0, id: 'call_canonical', type: 'function', function: { arguments: '"Paris"}' } }] }),
    chunk({}, 'tool_calls'),
    openAIEvent({ ...head, choices: [], usage: { prompt_tokens: 10, completion_tokens: 20, total_tokens: 30 } }),
    openAIEvent('[DONE]'),
  ])

test('/v1/messages: one streamed call whose argument fragments carry a second id stays one tool_use with its input', async () => {
  upstream.answer(poolsideCall)
  const message = await anthropic.messages
    .stream({
      model: 'plain:m', max_tokens: 200,
      tools: [{ name: 'get_weather', input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } }],
      messages: [{ role: 'user', content: 'Weather in Paris?' }],
    })
    .finalMessage()
  const calls = message.content.filter((b) => b.type === 'tool_use').map((b: any) => ({ id: b.id, name: b.name, input: b.input }))
  expect(calls).toEqual([{ id: 'call_first', name: 'get_weather', input: { city: 'Paris' } }])
})

test('/v1/responses through chat: the same call is one function call with its arguments', async () => {
  upstream.answer(poolsideCall)
  const response = await openai.responses
    .stream({ model: 'chat:m', store: false, input: 'Weather in Paris?', tools: [{ type: 'function', name: 'get_weather', parameters: { type: 'object' }, strict: false }] })
    .finalResponse()
  expect(response.output.map((item) => (item.type === 'function_call' ? [item.call_id, item.name, item.arguments] : item.type))).toEqual([
    ['call_first', 'get_weather', '{"city":"Paris"}'],
  ])
})

test('a new id at a reused index: more of the call until that call is whole JSON and the delta names a function', () => {
  const keys = new ToolCallKeys()
  const delta = (id: string | undefined, name: string | undefined, args: string) => keys.keyOf({ index: 0, id, function: { name, arguments: args } })
  const first = delta('call_a', 'get_weather', '')
  expect(delta('call_b', 'get_weather', '{"city":')).toBe(first) // named, but the call is not whole yet
  expect(delta('call_b', undefined, '"Paris"}')).toBe(first)
  expect(delta('call_c', undefined, '')).toBe(first) // whole, but names no function
  const second = delta('call_d', 'get_weather', '{"city":"Lyon"}') // whole and named: Ollama's next call
  expect(second).not.toBe(first)
  expect(delta('call_b', undefined, '')).toBe(first) // an id seen before is its call
})
