/**
 * Gemini's OpenAI-compatible endpoint streams each tool call whole, with its own `id`, and without
 * `tool_calls[].index` (a known deviation: the AI SDK's openai-compatible provider reads `index` as optional
 * for it: "google does not send index"). Such a call with an id not seen before is a new call, and a delta with
 * neither index nor id continues the last one. Before, the stream converters keyed every call by `index ?? 0`,
 * so a second call in the same turn was taken for more arguments of the first: the client got one call whose
 * arguments were two JSON objects end to end (`{"city":"Paris"}{"city":"Lyon"}`), the second call lost; through
 * `/v1/messages` the Anthropic SDK's MessageStream threw parsing that input, and through `/v1/responses` (a
 * `responses: chat` provider) the function call's arguments were not JSON.
 */
import { expect, setDefaultTimeout, test } from 'bun:test'
import type OpenAI from 'openai'
import type Anthropic from '@anthropic-ai/sdk'
import { openAIEvent, sseResponse, type ScriptedUpstream } from './support/scripted-upstream'
import { withTranslatingGateway } from './support/translating-gateway'

setDefaultTimeout(30_000)

let upstream: ScriptedUpstream
let anthropic: Anthropic
let openai: OpenAI

withTranslatingGateway('team-indexless-tool-calls', (started) => ({ upstream, anthropic, openai } = started))

const chunk = (delta: unknown, finish: string | null = null) =>
  openAIEvent({ id: 'chatcmpl-g', object: 'chat.completion.chunk', created: 1, model: 'gemini', choices: [{ index: 0, delta, finish_reason: finish }] })

/** Two whole tool calls without `index`, as Gemini sends them. */
const geminiTwoCalls = () => sseResponse([
  chunk({ role: 'assistant', tool_calls: [
    { id: 'call_paris', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
    { id: 'call_lyon', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Lyon"}' } },
  ] }),
  chunk({}, 'tool_calls'),
  openAIEvent({ id: 'chatcmpl-g', object: 'chat.completion.chunk', created: 1, model: 'gemini', choices: [], usage: { prompt_tokens: 10, completion_tokens: 12, total_tokens: 22 } }),
  openAIEvent('[DONE]'),
])

test('/v1/messages stream: two index-less tool calls stay two tool_use blocks', async () => {
  upstream.answer(geminiTwoCalls)
  const message = await anthropic.messages
    .stream({ model: 'plain:m', max_tokens: 100, messages: [{ role: 'user', content: 'Weather in Paris and Lyon?' }], tools: [{ name: 'get_weather', input_schema: { type: 'object' } }] })
    .finalMessage()
  expect(message.content as unknown).toEqual([
    { type: 'tool_use', id: 'call_paris', name: 'get_weather', input: { city: 'Paris' } },
    { type: 'tool_use', id: 'call_lyon', name: 'get_weather', input: { city: 'Lyon' } },
  ])
})

test('/v1/responses through chat, streamed: two index-less tool calls stay two function calls', async () => {
  upstream.answer(geminiTwoCalls)
  const response = await openai.responses
    .stream({ model: 'chat:m', input: 'Weather in Paris and Lyon?', tools: [{ type: 'function', name: 'get_weather', parameters: { type: 'object' }, strict: false }] })
    .finalResponse()
  expect(response.output.map((item) => [item.type, item.type === 'function_call' ? item.call_id : null, item.type === 'function_call' ? item.arguments : null])).toEqual([
    ['function_call', 'call_paris', '{"city":"Paris"}'],
    ['function_call', 'call_lyon', '{"city":"Lyon"}'],
  ])
})

test('/v1/messages stream: an index-less call\'s argument fragments without an id continue that call', async () => {
  upstream.answer(() => sseResponse([
    chunk({ role: 'assistant', tool_calls: [{ id: 'call_paris', type: 'function', function: { name: 'get_weather', arguments: '{"ci' } }] }),
    chunk({ tool_calls: [{ function: { arguments: 'ty":"Paris"}' } }] }),
    chunk({ tool_calls: [{ id: 'call_lyon', type: 'function', function: { name: 'get_weather', arguments: '{"city":' } }] }),
    chunk({ tool_calls: [{ function: { arguments: '"Lyon"}' } }] }),
    chunk({}, 'tool_calls'),
    openAIEvent({ id: 'chatcmpl-g', object: 'chat.completion.chunk', created: 1, model: 'gemini', choices: [], usage: { prompt_tokens: 10, completion_tokens: 12, total_tokens: 22 } }),
    openAIEvent('[DONE]'),
  ]))
  const message = await anthropic.messages
    .stream({ model: 'plain:m', max_tokens: 100, messages: [{ role: 'user', content: 'Weather in Paris and Lyon?' }], tools: [{ name: 'get_weather', input_schema: { type: 'object' } }] })
    .finalMessage()
  expect(message.content as unknown).toEqual([
    { type: 'tool_use', id: 'call_paris', name: 'get_weather', input: { city: 'Paris' } },
    { type: 'tool_use', id: 'call_lyon', name: 'get_weather', input: { city: 'Lyon' } },
  ])
})
