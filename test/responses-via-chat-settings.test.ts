import { expect, setDefaultTimeout, test } from 'bun:test'
import type OpenAI from 'openai'
import { jsonResponse, openAIEvent, sseResponse, type ScriptedUpstream } from './support/scripted-upstream'
import { withTranslatingGateway } from './support/translating-gateway'

/**
 * Mutation guard: /v1/responses through chat completions (`responses: chat`,
 * src/translate/responses/request-to-chat.ts and chunks-to-response-events.ts).
 * - The settings that change what the server does reach it: `temperature`, `reasoning.effort` as
 *   `reasoning_effort`, `tool_choice: "required"` (no suite sent any of the three through chat).
 * - Structured output (`text.format` json_schema) goes as chat's `response_format`: without it the server answers
 *   free text and `responses.parse()` fails on it.
 * - README ("The output clamp"; "Translation covers … stop reasons"): an answer the provider cut at its max
 *   (`finish_reason: "length"`) is a Responses `status: "incomplete"` (`max_output_tokens`), JSON and streamed
 *   (`response.incomplete`): told `completed`, Codex and the Agents SDK take a cut answer for a finished one.
 */
setDefaultTimeout(30_000)

let upstream: ScriptedUpstream
let openai: OpenAI

withTranslatingGateway('responses-chat', (started) => ({ upstream, openai } = started))

const completion = () =>
  jsonResponse({
    id: 'c1', object: 'chat.completion', created: 1, model: 'm',
    choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 10, completion_tokens: 2, total_tokens: 12 },
  })
const sentBody = () => upstream.calls.findLast((c) => c.path.endsWith('/chat/completions'))?.body

test('temperature and reasoning.effort reach the chat server', async () => {
  upstream.answer(completion)
  await openai.responses.create({ model: 'chat:m', input: 'hi', store: false, temperature: 0.3, reasoning: { effort: 'high' } })
  const sent = sentBody()
  expect({ temperature: sent?.temperature, reasoning_effort: sent?.reasoning_effort }).toEqual({ temperature: 0.3, reasoning_effort: 'high' })
})

test('tool_choice required forces a tool on the chat server', async () => {
  upstream.answer(completion)
  await openai.responses.create({
    model: 'chat:m',
    input: 'time?',
    store: false,
    tools: [{ type: 'function', name: 'get_time', parameters: { type: 'object', properties: {} }, strict: false }],
    tool_choice: 'required',
  })
  expect(sentBody()?.tool_choice).toBe('required')
})

test('a json_schema text format goes as response_format', async () => {
  upstream.answer(completion)
  const schema = { type: 'object', properties: { answer: { type: 'string' } }, required: ['answer'], additionalProperties: false }
  await openai.responses.create({
    model: 'chat:m',
    input: 'answer in JSON',
    store: false,
    text: { format: { type: 'json_schema', name: 'answer', schema, strict: true } },
  })
  expect(sentBody()?.response_format).toEqual({ type: 'json_schema', json_schema: { name: 'answer', schema, strict: true } })
})

test('JSON: an answer cut at its max (finish_reason length) is incomplete, max_output_tokens', async () => {
  upstream.answer(() =>
    jsonResponse({
      id: 'c3', object: 'chat.completion', created: 1, model: 'm',
      choices: [{ index: 0, message: { role: 'assistant', content: 'The first of many' }, finish_reason: 'length' }],
      usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
    }),
  )
  const response = await openai.responses.create({ model: 'chat:m', input: 'write a lot', store: false, max_output_tokens: 5 })
  expect({ status: response.status, reason: response.incomplete_details?.reason }).toEqual({ status: 'incomplete', reason: 'max_output_tokens' })
})

test('streamed: an answer cut at its max ends with response.incomplete, max_output_tokens', async () => {
  const chunk = (choices: unknown[], usage?: unknown) => openAIEvent({ id: 'c4', object: 'chat.completion.chunk', created: 1, model: 'm', choices, ...(usage ? { usage } : {}) })
  upstream.answer(() =>
    sseResponse([
      chunk([{ index: 0, delta: { role: 'assistant', content: 'The first of many' }, finish_reason: null }]),
      chunk([{ index: 0, delta: {}, finish_reason: 'length' }]),
      chunk([], { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 }),
      openAIEvent('[DONE]'),
    ]),
  )
  const stream = await openai.responses.create({ model: 'chat:m', input: 'write a lot', store: false, max_output_tokens: 5, stream: true })
  let last: any
  for await (const event of stream) last = event
  expect({ type: last?.type, status: last?.response?.status, reason: last?.response?.incomplete_details?.reason })
    .toEqual({ type: 'response.incomplete', status: 'incomplete', reason: 'max_output_tokens' })
})
