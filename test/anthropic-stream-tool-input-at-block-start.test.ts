import { afterAll, beforeAll, expect, setDefaultTimeout, test } from 'bun:test'
import OpenAI from 'openai'
import Anthropic from '@anthropic-ai/sdk'
import { anthropicEvent, scriptedGateway, sseResponse, type ScriptedUpstream } from './support/scripted-upstream'
import type { TestGateway } from './support/gateway'

setDefaultTimeout(30_000)

/**
 * An Anthropic-format stream whose `tool_use` block arrives whole in `content_block_start` (its `input`
 * filled, no `input_json_delta` after it), as Anthropic-compatible servers may send it. The Anthropic SDK
 * reads that input from the block's start (MessageStream keeps the started block as its snapshot), so the
 * call's arguments are `{"city":"Paris"}`; translated for an OpenAI client (chat or Responses) they are the
 * same, not `{}`, as the converters already keep a text block's start text (`block.text`). When argument
 * deltas do follow, they are the arguments, as the SDK reads them. (The meter's count of such an input:
 * test/stream-output.test.ts.)
 */
let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string
let stop: () => Promise<void>
let openai: OpenAI

beforeAll(async () => {
  ;({ upstream, gw, secret, stop } = await scriptedGateway('team-whole-tool-block'))
  openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: secret, maxRetries: 0 })
})
afterAll(() => stop())

const wholeToolBlock = () =>
  sseResponse([
    anthropicEvent({ type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 10, output_tokens: 1 } } }),
    anthropicEvent({ type: 'content_block_start', index: 0, content_block: { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } } }),
    anthropicEvent({ type: 'content_block_stop', index: 0 }),
    anthropicEvent({ type: 'message_delta', delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: 12 } }),
    anthropicEvent({ type: 'message_stop' }),
  ])

test('the Anthropic SDK itself reads the input from the block start (the same stream, passed through natively)', async () => {
  upstream.answer(wholeToolBlock)
  const anthropic = new Anthropic({ baseURL: gw.url, apiKey: secret, maxRetries: 0 })
  const message = await anthropic.messages
    .stream({ model: 'ant:m', max_tokens: 100, messages: [{ role: 'user', content: 'weather?' }], tools: [{ name: 'get_weather', input_schema: { type: 'object' } }] })
    .finalMessage()
  expect(message.content[0]).toMatchObject({ type: 'tool_use', input: { city: 'Paris' } })
})

test('chat.completions.stream().finalChatCompletion(): the tool call keeps its arguments', async () => {
  upstream.answer(wholeToolBlock)
  const completion = await openai.chat.completions
    .stream({ model: 'ant:m', messages: [{ role: 'user', content: 'weather?' }], tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } }] })
    .finalChatCompletion()
  expect(completion.choices[0]!.message.tool_calls?.[0]).toMatchObject({ id: 'toolu_1', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } })
})

test('responses.stream().finalResponse(): the function call keeps its arguments', async () => {
  upstream.answer(wholeToolBlock)
  const response = await openai.responses
    .stream({ model: 'ant:m', input: 'weather?', tools: [{ type: 'function', name: 'get_weather', parameters: { type: 'object' }, strict: false }] })
    .finalResponse()
  expect(response.output[0]).toMatchObject({ type: 'function_call', call_id: 'toolu_1', arguments: '{"city":"Paris"}' })
})

test('a start with input and argument deltas after it: the deltas are the arguments (as the Anthropic SDK reads them), not both', async () => {
  const startedThenStreamed = () =>
    sseResponse([
      anthropicEvent({ type: 'message_start', message: { id: 'msg_2', type: 'message', role: 'assistant', model: 'm', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 10, output_tokens: 1 } } }),
      anthropicEvent({ type: 'content_block_start', index: 0, content_block: { type: 'tool_use', id: 'toolu_2', name: 'get_weather', input: { city: 'Lyon' } } }),
      anthropicEvent({ type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: '{"city":' } }),
      anthropicEvent({ type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: '"Paris"}' } }),
      anthropicEvent({ type: 'content_block_stop', index: 0 }),
      anthropicEvent({ type: 'message_delta', delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: 12 } }),
      anthropicEvent({ type: 'message_stop' }),
    ])
  upstream.answer(startedThenStreamed)
  const anthropic = new Anthropic({ baseURL: gw.url, apiKey: secret, maxRetries: 0 })
  const message = await anthropic.messages
    .stream({ model: 'ant:m', max_tokens: 100, messages: [{ role: 'user', content: 'weather?' }], tools: [{ name: 'get_weather', input_schema: { type: 'object' } }] })
    .finalMessage()
  expect(message.content[0]).toMatchObject({ type: 'tool_use', input: { city: 'Paris' } })

  upstream.answer(startedThenStreamed)
  const completion = await openai.chat.completions
    .stream({ model: 'ant:m', messages: [{ role: 'user', content: 'weather?' }], tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } }] })
    .finalChatCompletion()
  expect(completion.choices[0]!.message.tool_calls?.[0]).toMatchObject({ function: { arguments: '{"city":"Paris"}' } })

  upstream.answer(startedThenStreamed)
  const response = await openai.responses
    .stream({ model: 'ant:m', input: 'weather?', tools: [{ type: 'function', name: 'get_weather', parameters: { type: 'object' }, strict: false }] })
    .finalResponse()
  expect(response.output[0]).toMatchObject({ type: 'function_call', arguments: '{"city":"Paris"}' })
})
