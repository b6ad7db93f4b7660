import { afterAll, beforeAll, expect, setDefaultTimeout, test } from 'bun:test'
import Anthropic from '@anthropic-ai/sdk'
import OpenAI from 'openai'
import { startTestGateway, type TestGateway } from './support/gateway'
import { jsonResponse, openAIEvent, scriptedProviders, sseResponse, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'

setDefaultTimeout(30_000)

/**
 * Ollama writes a call to a tool without parameters as `"arguments": "null"` (Go's json.Marshal of a nil map).
 * Anthropic's tool_use input is always an object (`{}` for such a tool): Claude Code checks the input against the
 * tool's object schema, and Claude refuses the history with `input: null` (400 "Input should be a valid
 * dictionary"). So a /v1/messages client of a chat server gets `input: {}`, in the JSON answer and in the stream
 * (no `partial_json: "null"`); other text that is no object comes under `arguments`. The Responses API gets `"{}"`,
 * as OpenAI writes a no-argument call.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
let anthropic: Anthropic
let openai: OpenAI

beforeAll(async () => {
  upstream = startScriptedUpstream()
  const providers = scriptedProviders(upstream)
  gw = await startTestGateway({ config: {
    providers: { ...providers, viachat: { ...providers.plain, responses: 'chat' as const } },
    pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2 }, 'viachat:m': { input_per_million: 1, output_per_million: 2 } },
  } })
  const { secret } = await gw.userWithKey({ id: 'no-argument-tool-input', max_budget: 10 })
  anthropic = new Anthropic({ baseURL: gw.url, apiKey: secret, maxRetries: 0 })
  openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: secret, maxRetries: 0 })
})
afterAll(async () => {
  await gw.stop()
  await upstream.stop()
})

const tools = [{ name: 'get_time', description: 'now', input_schema: { type: 'object' as const, properties: {} } }]
const responsesTools = [{ type: 'function' as const, name: 'get_time', parameters: { type: 'object', properties: {} }, strict: false }]
const callArguing = (args: string) => ({ id: 'call_1', type: 'function', function: { name: 'get_time', arguments: args } })
const usage = { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 }

const answerWhole = (args: string) =>
  upstream.answer(() =>
    jsonResponse({ id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: 'm', usage,
      choices: [{ index: 0, finish_reason: 'tool_calls', message: { role: 'assistant', content: null, tool_calls: [callArguing(args)] } }] }),
  )

/** A stream whose one call's arguments come in these fragments. */
const answerStreamed = (fragments: string[]) => {
  const head = { id: 'chatcmpl-2', object: 'chat.completion.chunk', created: 1, model: 'm' }
  const delta = (d: unknown, finish: string | null = null) => openAIEvent({ ...head, choices: [{ index: 0, delta: d, finish_reason: finish }] })
  upstream.answer(() =>
    sseResponse([
      delta({ role: 'assistant', tool_calls: [{ index: 0, ...callArguing(fragments[0]!) }] }),
      ...fragments.slice(1).map((text) => delta({ tool_calls: [{ index: 0, function: { arguments: text } }] })),
      delta({}, 'tool_calls'),
      openAIEvent({ ...head, choices: [], usage }),
      openAIEvent('[DONE]'),
    ]),
  )
}

const toolUseOf = (msg: Anthropic.Message) => msg.content.find((b) => b.type === 'tool_use') as Anthropic.ToolUseBlock | undefined

test('/v1/messages JSON: a no-argument call arguing "null" has input {}', async () => {
  answerWhole('null')
  const msg = await anthropic.messages.create({ model: 'plain:m', max_tokens: 100, tools, messages: [{ role: 'user', content: 'time?' }] })
  expect(toolUseOf(msg)?.input).toEqual({})
})

test('/v1/messages stream: a no-argument call arguing "null" has input {}, no partial_json "null"', async () => {
  answerStreamed(['null'])
  const stream = anthropic.messages.stream({ model: 'plain:m', max_tokens: 100, tools, messages: [{ role: 'user', content: 'time?' }] })
  const partials: string[] = []
  stream.on('inputJson', (partial) => partials.push(partial))
  const msg = await stream.finalMessage()
  expect(toolUseOf(msg)?.input).toEqual({})
  expect(partials).toEqual([])
})

test('/v1/messages: arguments that are JSON but no object come under `arguments`, whole and streamed alike', async () => {
  answerWhole('[1,2]')
  const whole = await anthropic.messages.create({ model: 'plain:m', max_tokens: 100, tools, messages: [{ role: 'user', content: 'time?' }] })
  expect(toolUseOf(whole)?.input).toEqual({ arguments: '[1,2]' })
  answerStreamed(['[1,', '2]'])
  const streamed = await anthropic.messages.stream({ model: 'plain:m', max_tokens: 100, tools, messages: [{ role: 'user', content: 'time?' }] }).finalMessage()
  expect(toolUseOf(streamed)?.input).toEqual({ arguments: '[1,2]' })
})

test('/v1/messages stream: arguments that open an object still stream fragment by fragment', async () => {
  answerStreamed([' {"zone":', '"UTC"}'])
  const stream = anthropic.messages.stream({ model: 'plain:m', max_tokens: 100, tools, messages: [{ role: 'user', content: 'time?' }] })
  const deltas: string[] = []
  stream.on('streamEvent', (event) => {
    if (event.type === 'content_block_delta' && event.delta.type === 'input_json_delta') deltas.push(event.delta.partial_json)
  })
  const msg = await stream.finalMessage()
  expect(deltas).toEqual([' {"zone":', '"UTC"}'])
  expect(toolUseOf(msg)?.input).toEqual({ zone: 'UTC' })
})

test('/v1/responses through chat: a no-argument call arguing "null" has arguments "{}", JSON and stream', async () => {
  answerWhole('null')
  const whole = await openai.responses.create({ model: 'viachat:m', store: false, input: 'time?', tools: responsesTools })
  expect(whole.output.filter((item) => item.type === 'function_call').map((item: any) => item.arguments)).toEqual(['{}'])

  answerStreamed(['null'])
  const stream = openai.responses.stream({ model: 'viachat:m', store: false, input: 'time?', tools: responsesTools })
  const deltas: string[] = []
  stream.on('response.function_call_arguments.delta', (event) => deltas.push(event.delta))
  const streamed = await stream.finalResponse()
  expect(streamed.output.filter((item) => item.type === 'function_call').map((item: any) => item.arguments)).toEqual(['{}'])
  // What the deltas added up to is what the call says.
  expect(deltas.join('')).toBe('{}')
})
