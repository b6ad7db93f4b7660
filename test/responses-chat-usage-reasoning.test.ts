import { afterAll, beforeAll, expect, setDefaultTimeout, test } from 'bun:test'
import OpenAI from 'openai'
import { startTestGateway, type TestGateway } from './support/gateway'
import { jsonResponse, openAIEvent, scriptedProviders, sseResponse, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'

setDefaultTimeout(30_000)

/**
 * `/v1/responses` through chat completions (`responses: chat`). A Responses client (Codex, the Agents SDK) must be
 * told the usage it is billed (as translated-usage-in-choice.test.ts holds for Moonshot). Gemini's OpenAI-compatible
 * endpoint leaves its thinking out of `completion_tokens` (424) but not out of `total_tokens` (1,016 for a 20-token
 * prompt): the gateway bills 996 output tokens (openAIUsage/billedOutput), yet the Responses usage says 424 output,
 * 444 total. And a reasoning model's `completion_tokens_details.reasoning_tokens` is always shown as 0.
 * chat:m is 1 µ$ an input token, 2 µ$ an output token.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
let openai: OpenAI
const USER = 'responses-usage'

beforeAll(async () => {
  upstream = startScriptedUpstream()
  gw = await startTestGateway({ config: {
    providers: { chat: { ...scriptedProviders(upstream).plain, responses: 'chat' } },
    pricing: { 'chat:m': { input_per_million: 1, output_per_million: 2 } },
  } })
  const { secret } = await gw.userWithKey({ id: USER, max_budget: 10 })
  openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: secret, maxRetries: 0 })
})
afterAll(async () => {
  await gw.stop()
  await upstream.stop()
})

const GEMINI_USAGE = { prompt_tokens: 20, completion_tokens: 424, total_tokens: 1_016 }
const head = { id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm' }

test('stream: the output tokens shown are the output tokens billed (thinking counted only in the total)', async () => {
  upstream.answer(() => sseResponse([
    openAIEvent({ ...head, choices: [{ index: 0, delta: { role: 'assistant', content: 'Hello' }, finish_reason: null }] }),
    openAIEvent({ ...head, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }),
    openAIEvent({ ...head, choices: [], usage: GEMINI_USAGE }),
    openAIEvent('[DONE]'),
  ]))
  let usage: any
  const row = await settledRow(gw, USER, async () => {
    usage = (await openai.responses.stream({ model: 'chat:m', input: 'hi' }).finalResponse()).usage
  })
  expect({ cost: row.cost, billedOutput: row.completion_tokens }).toEqual({ cost: 20 + 996 * 2, billedOutput: 996 })
  expect({ input: usage.input_tokens, output: usage.output_tokens, total: usage.total_tokens }).toEqual({ input: 20, output: 996, total: 1_016 })
})

test('JSON: reasoning tokens the chat usage reports are shown in output_tokens_details', async () => {
  upstream.answer(() => jsonResponse({
    id: 'c2', object: 'chat.completion', created: 1, model: 'm',
    choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: 'Hello' } }],
    usage: { prompt_tokens: 10, completion_tokens: 100, total_tokens: 110, completion_tokens_details: { reasoning_tokens: 60 } },
  }))
  const response = await openai.responses.create({ model: 'chat:m', input: 'hi' })
  expect(response.usage?.output_tokens).toBe(100)
  expect(response.usage?.output_tokens_details.reasoning_tokens).toBe(60)
})
