import { afterAll, beforeAll, expect, setDefaultTimeout, test } from 'bun:test'
import { ChatAnthropic } from '@langchain/anthropic'
import type { BaseChatModel } from '@langchain/core/language_models/chat_models'
import { AIMessage, AIMessageChunk, HumanMessage, ToolMessage, type BaseMessage } from '@langchain/core/messages'
import { tool } from '@langchain/core/tools'
import { ChatOpenAI, OpenAIEmbeddings } from '@langchain/openai'
import { z } from 'zod'
import { billedRows, startClientSetup, type ClientSetup } from '../support/clients'

// Real clients on a busy machine: more room than bun's 5 s default (bunfig has no test timeout setting).
setDefaultTimeout(30_000)

/**
 * LangChain's chat models (`@langchain/openai`'s ChatOpenAI on chat completions and on the Responses API,
 * `@langchain/anthropic`'s ChatAnthropic) and OpenAIEmbeddings, pointed at the gateway as the README's client guide
 * says: a call, a stream whose usage LangChain reads, and a tool round trip the application runs (two model calls),
 * each billed to the key's user; and a model of the other wire format behind each, translated by the gateway.
 */
let setup: ClientSetup

beforeAll(async () => {
  setup = await startClientSetup()
})
afterAll(() => setup?.stop())

const gatewayV1 = () => `${setup.gw.url}/v1`
const chatOpenAI = (model: string) => new ChatOpenAI({ model, apiKey: setup.secret, configuration: { baseURL: gatewayV1() }, maxRetries: 0 })
const responsesOpenAI = (model: string) =>
  new ChatOpenAI({ model, useResponsesApi: true, apiKey: setup.secret, configuration: { baseURL: gatewayV1() }, maxRetries: 0 })
const chatAnthropic = (model: string) => new ChatAnthropic({ model, apiKey: setup.secret, anthropicApiUrl: setup.gw.url, maxRetries: 0 })

const ANSWER = 'Hello from the mock provider.'
const textOf = (message: BaseMessage) =>
  typeof message.content === 'string' ? message.content : message.content.map((part) => ('text' in part ? part.text : '')).join('')

/** A tool call, its result sent back, then the answer: what an application's agent loop does. */
async function toolRoundTrip(model: BaseChatModel): Promise<{ asked: string[]; answer: string }> {
  const asked: string[] = []
  const getWeather = tool(
    async ({ city }) => {
      asked.push(city)
      return `sunny in ${city}`
    },
    { name: 'get_weather', description: 'Current weather for a city', schema: z.object({ city: z.string() }) },
  )
  const withTools = model.bindTools!([getWeather])
  const messages: BaseMessage[] = [new HumanMessage('What is the weather in Paris?')]
  const call = (await withTools.invoke(messages)) as AIMessage
  messages.push(call)
  for (const toolCall of call.tool_calls ?? []) messages.push(new ToolMessage({ content: await getWeather.invoke(toolCall.args as { city: string }), tool_call_id: toolCall.id! }))
  return { asked, answer: textOf(await withTools.invoke(messages)) }
}

function chatModel(name: string, make: (model: string) => BaseChatModel, model: string, endpoint: string) {
  test(`${name}: invoke and stream, LangChain's usage the provider's`, async () => {
    let invoked: AIMessage | undefined
    let streamed: AIMessageChunk | undefined
    const rows = await billedRows(setup, async () => {
      invoked = (await make(model).invoke('Say hello.')) as AIMessage
      // LangChain's own way to a stream's whole message: its chunks concatenated, usage summed.
      for await (const chunk of await make(model).stream('Say hello.')) streamed = streamed?.concat(chunk) ?? chunk
    })
    expect(textOf(invoked!)).toBe(ANSWER)
    expect(textOf(streamed!)).toBe(ANSWER)
    expect(rows.map((r) => [r.endpoint, r.model, r.stream])).toEqual([[endpoint, model, 0], [endpoint, model, 1]])
    expect(invoked!.usage_metadata).toMatchObject({ input_tokens: rows[0]!.prompt_tokens, output_tokens: rows[0]!.completion_tokens })
    // ChatAnthropic adds message_start's output_tokens (1, as Anthropic sends it) to message_delta's total: its count, not the bill.
    const messageStartOutput = endpoint === '/v1/messages' ? 1 : 0
    expect(streamed!.usage_metadata).toMatchObject({ input_tokens: rows[1]!.prompt_tokens, output_tokens: rows[1]!.completion_tokens + messageStartOutput })
  })

  test(`${name}: a tool round trip, two billed calls`, async () => {
    let result: { asked: string[]; answer: string } | undefined
    const rows = await billedRows(setup, async () => {
      result = await toolRoundTrip(make(model))
    })
    expect(result).toEqual({ asked: ['Paris'], answer: ANSWER })
    expect(rows.map((r) => [r.endpoint, r.model])).toEqual([[endpoint, model], [endpoint, model]])
  })
}

chatModel('ChatOpenAI (chat completions)', chatOpenAI, 'mock:gpt-mock', '/v1/chat/completions')
chatModel('ChatOpenAI with useResponsesApi', responsesOpenAI, 'mock:gpt-mock', '/v1/responses')
chatModel('ChatAnthropic', chatAnthropic, 'mockant:claude-mock', '/v1/messages')

test('ChatOpenAI asks for the stream\'s usage itself, and gets it', async () => {
  setup.mock.reset()
  await billedRows(setup, async () => {
    for await (const _ of await chatOpenAI('mock:gpt-mock').stream('Say hello.'));
  })
  const sent = setup.mock.calls.find((c) => c.path === '/v1/chat/completions')!.body as { stream_options?: unknown }
  expect(sent.stream_options).toEqual({ include_usage: true })
})

test('a model of the other wire format behind each: translated, tools included', async () => {
  let results: Array<{ asked: string[]; answer: string }> = []
  const rows = await billedRows(setup, async () => {
    results = [
      await toolRoundTrip(chatOpenAI('mockant:claude-mock')),
      await toolRoundTrip(responsesOpenAI('mockant:claude-mock')),
      await toolRoundTrip(chatAnthropic('mock:gpt-mock')),
    ]
  })
  expect(results).toEqual(Array(3).fill({ asked: ['Paris'], answer: ANSWER }))
  expect(rows.map((r) => [r.endpoint, r.model])).toEqual([
    ['/v1/chat/completions', 'mockant:claude-mock'], ['/v1/chat/completions', 'mockant:claude-mock'],
    ['/v1/responses', 'mockant:claude-mock'], ['/v1/responses', 'mockant:claude-mock'],
    ['/v1/messages', 'mock:gpt-mock'], ['/v1/messages', 'mock:gpt-mock'],
  ])
})

test('OpenAIEmbeddings: one billed call for the documents', async () => {
  expect((await setup.gw.admin('POST', '/v1/pricing', { model: 'mock:text-embedding-mock', input_per_million: 1, output_per_million: 0 })).status).toBe(201)
  let vectors: number[][] = []
  const rows = await billedRows(setup, async () => {
    const embeddings = new OpenAIEmbeddings({ model: 'mock:text-embedding-mock', apiKey: setup.secret, configuration: { baseURL: gatewayV1() }, maxRetries: 0 })
    vectors = await embeddings.embedDocuments(['first document', 'second document'])
  })
  expect(vectors).toHaveLength(2)
  expect(vectors[0]!.length).toBeGreaterThan(0)
  expect(rows.map((r) => [r.endpoint, r.model])).toEqual([['/v1/embeddings', 'mock:text-embedding-mock']])
})
