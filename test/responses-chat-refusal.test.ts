import { afterAll, beforeAll, beforeEach, expect, setDefaultTimeout, test } from 'bun:test'
import OpenAI from 'openai'
import { zodTextFormat } from 'openai/helpers/zod'
import { z } from 'zod'
import { jsonResponse, openAIEvent, scriptedProviders, sseResponse, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'
import { startTestGateway, type TestGateway } from './support/gateway'
import { settledRow } from './support/settled-row'

setDefaultTimeout(30_000)

/**
 * `/v1/responses` through chat completions (`responses: chat`). A chat model that refuses says so in
 * `message.refusal` (`delta.refusal` on a stream), with `finish_reason: "stop"`: structured outputs' refusal.
 * The Responses API carries it as a `refusal` content part (streamed by `response.refusal.delta` and
 * `.done`), which the SDK leaves unparsed: `responses.parse()` with a schema gives `output_parsed: null`
 * instead of feeding the sentence to JSON.parse ("invalid structured output JSON"), and `output_text` does
 * not show the refusal as if the model had answered. The refusal is output all the same, billed as such.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
let openai: OpenAI

beforeAll(async () => {
  upstream = startScriptedUpstream()
  const providers = scriptedProviders(upstream)
  gw = await startTestGateway({ config: {
    providers: { chat: { ...providers.plain, responses: 'chat' } },
    pricing: { 'chat:m': { input_per_million: 1, output_per_million: 2 } },
  } })
  const { secret } = await gw.userWithKey({ id: USER, max_budget: 10 })
  openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: secret, maxRetries: 0 })
})
afterAll(async () => {
  await gw.stop()
  await upstream.stop()
})
beforeEach(() => { upstream.calls.length = 0 })

const USER = 'team-chat-refusal'
const REFUSAL = "I'm sorry, I can't help with that."
const usage = { prompt_tokens: 10, completion_tokens: 9, total_tokens: 19 }
const format = zodTextFormat(z.object({ answer: z.string() }), 'answer')

test('JSON: a refusal is a refusal content part, and responses.parse() does not throw on it', async () => {
  upstream.answer(() => jsonResponse({
    id: 'c1', object: 'chat.completion', created: 1, model: 'm',
    choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: null, refusal: REFUSAL } }],
    usage,
  }))
  const response = await openai.responses.parse({ model: 'chat:m', input: 'hi', text: { format } })
  const message = response.output[0] as any
  expect(message.content[0]).toMatchObject({ type: 'refusal', refusal: REFUSAL })
  expect(response.output_parsed).toBeNull()
})

test('stream: refusal deltas are a refusal content part', async () => {
  const chunk = (delta: unknown, finish: string | null = null) => openAIEvent({ id: 'c2', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] })
  upstream.answer(() => sseResponse([
    chunk({ role: 'assistant', content: null, refusal: '' }),
    chunk({ refusal: REFUSAL }),
    chunk({}, 'stop'),
    openAIEvent({ id: 'c2', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [], usage }),
    openAIEvent('[DONE]'),
  ]))
  const response = await openai.responses.stream({ model: 'chat:m', input: 'hi', text: { format } }).finalResponse()
  const message = response.output[0] as any
  expect(message.content[0]).toMatchObject({ type: 'refusal', refusal: REFUSAL })
  expect(response.output_parsed).toBeNull()
})

test('stream without usage: the refusal is output, charged as a stream without usage is', async () => {
  const chunk = (delta: unknown, finish: string | null = null) => openAIEvent({ id: 'c3', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] })
  upstream.answer(() => sseResponse([chunk({ role: 'assistant', content: null, refusal: '' }), chunk({ refusal: REFUSAL }), chunk({}, 'stop'), openAIEvent('[DONE]')]))
  const row = await settledRow(gw, USER, async () => {
    const response = await openai.responses.stream({ model: 'chat:m', input: 'hi' }).finalResponse()
    expect((response.output[0] as any).content[0]).toMatchObject({ type: 'refusal', refusal: REFUSAL })
    expect(response.output_text).toBe('')
  })
  // Output without usage is charged the estimate (its hold); a stream ending before any output would be released at $0.
  expect(row.status).toBe('ok')
  expect(row.cost).toBeGreaterThan(0)
})
