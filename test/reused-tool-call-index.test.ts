import { expect, setDefaultTimeout, test } from 'bun:test'
import type Anthropic from '@anthropic-ai/sdk'
import type OpenAI from 'openai'
import { openAIEvent, sseResponse, type ScriptedUpstream } from './support/scripted-upstream'
import { withTranslatingGateway } from './support/translating-gateway'

setDefaultTimeout(30_000)

/**
 * Ollama streams every tool call of a parallel batch with `index: 0`, each with its own `id` (ollama/ollama#15457;
 * vercel/ai#14277 saw it on every multi-tool turn; Grok and some vLLM builds do likewise). `ToolCallKeys` keyed a
 * call by its index whenever it had one, so the second call (a new id) was taken for more arguments of the first:
 * the `/v1/messages` client got ONE tool_use block whose input was `{"city":"Paris"}{"city":"Lyon"}` (the Anthropic
 * SDK threw parsing it), the second call lost; a Responses client of a `responses: chat` provider got one function
 * call whose arguments were not JSON. A new id at an index whose call has another id is a new call.
 */
let upstream: ScriptedUpstream
let anthropic: Anthropic
let openai: OpenAI

withTranslatingGateway('reused-tool-call-index', (started) => ({ upstream, anthropic, openai } = started))

const head = { id: 'chatcmpl-o', object: 'chat.completion.chunk', created: 1, model: 'qwen3-coder:30b' }
const chunk = (delta: unknown, finish: string | null = null) => openAIEvent({ ...head, choices: [{ index: 0, delta, finish_reason: finish }] })
const weather = (id: string, args: string) => ({ index: 0, id, type: 'function', function: { name: 'get_weather', arguments: args } })
const streamOf = (...deltas: unknown[]) => () =>
  sseResponse([
    ...deltas.map((delta) => chunk(delta)),
    chunk({}, 'tool_calls'),
    openAIEvent({ ...head, choices: [], usage: { prompt_tokens: 10, completion_tokens: 20, total_tokens: 30 } }),
    openAIEvent('[DONE]'),
  ])

/** Ollama's: each call whole, both `index: 0`. */
const ollamaTwoCalls = streamOf(
  { role: 'assistant', tool_calls: [weather('call_paris', '{"city":"Paris"}')] },
  { tool_calls: [weather('call_lyon', '{"city":"Lyon"}')] },
)

const tools = [{ name: 'get_weather', input_schema: { type: 'object' as const, properties: { city: { type: 'string' } } } }]
const messagesRequest = { model: 'plain:m', max_tokens: 200, tools, messages: [{ role: 'user' as const, content: 'Weather in Paris and Lyon?' }] }
const anthropicCalls = async () =>
  (await anthropic.messages.stream(messagesRequest).finalMessage()).content.filter((b) => b.type === 'tool_use').map((b: any) => ({ id: b.id, input: b.input }))

test('/v1/messages: two tool calls, both index 0 with distinct ids, are two tool_use blocks', async () => {
  upstream.answer(ollamaTwoCalls)
  expect(await anthropicCalls()).toEqual([
    { id: 'call_paris', input: { city: 'Paris' } },
    { id: 'call_lyon', input: { city: 'Lyon' } },
  ])
})

test('/v1/messages: fragments without an id after a reused index continue the call that index last named', async () => {
  upstream.answer(streamOf(
    { role: 'assistant', tool_calls: [weather('call_paris', '{"city":"Paris"}')] },
    { tool_calls: [weather('call_lyon', '{"city":')] },
    { tool_calls: [{ index: 0, function: { arguments: '"Lyon"}' } }] },
  ))
  expect(await anthropicCalls()).toEqual([
    { id: 'call_paris', input: { city: 'Paris' } },
    { id: 'call_lyon', input: { city: 'Lyon' } },
  ])
})

test('/v1/responses through chat: two tool calls, both index 0 with distinct ids, are two function calls', async () => {
  upstream.answer(ollamaTwoCalls)
  const response = await openai.responses
    .stream({ model: 'chat:m', store: false, input: 'Weather in Paris and Lyon?', tools: [{ type: 'function', name: 'get_weather', parameters: { type: 'object' }, strict: false }] })
    .finalResponse()
  expect(response.output.map((item) => (item.type === 'function_call' ? [item.call_id, item.arguments] : item.type))).toEqual([
    ['call_paris', '{"city":"Paris"}'],
    ['call_lyon', '{"city":"Lyon"}'],
  ])
})
