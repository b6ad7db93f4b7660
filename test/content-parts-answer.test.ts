import { expect, setDefaultTimeout, test } from 'bun:test'
import type Anthropic from '@anthropic-ai/sdk'
import type OpenAI from 'openai'
import type { TestGateway } from './support/gateway'
import { jsonResponse, openAIEvent, sseResponse, type ScriptedUpstream } from './support/scripted-upstream'
import { withTranslatingGateway } from './support/translating-gateway'
import { settledRow } from './support/settled-row'

setDefaultTimeout(30_000)

/**
 * Mistral's reasoning models (magistral-*, and mistral-small with reasoning_effort) answer on their OpenAI-compatible
 * chat endpoint with `message.content` — and, streamed, `delta.content` — as an ARRAY of chunks:
 * `[{type:"thinking", thinking:[{type:"text", text}]}, {type:"text", text:"the answer"}]` (spring-ai#5019; the AI
 * SDK's and braintrust's Mistral integrations read it so). The translators read `content` only when it was a string:
 * an Anthropic client (`/v1/messages` to an `openai` provider) or a Responses client (a `responses: chat` provider)
 * got an answer with no text at all, and was billed for it (the meter counts the array's text as output).
 * The text parts are the answer; the thinking is left out, as `reasoning_content` is.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
let anthropic: Anthropic
let openai: OpenAI
const USER = 'content-parts-answer'

withTranslatingGateway(USER, (started) => ({ upstream, gw, anthropic, openai } = started))

const ANSWER = 'The answer is 42.'
const thinking = { type: 'thinking', thinking: [{ type: 'text', text: 'Let me think about it.' }] }
const magistralCompletion = () =>
  jsonResponse({
    id: 'c1', object: 'chat.completion', created: 1, model: 'magistral-medium-2509',
    choices: [{ index: 0, message: { role: 'assistant', content: [thinking, { type: 'text', text: ANSWER }] }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 10, completion_tokens: 30, total_tokens: 40 },
  })
const head = { id: 'c2', object: 'chat.completion.chunk', created: 1, model: 'magistral-medium-2509' }
const magistralStream = () =>
  sseResponse([
    openAIEvent({ ...head, choices: [{ index: 0, delta: { role: 'assistant', content: [thinking] }, finish_reason: null }] }),
    openAIEvent({ ...head, choices: [{ index: 0, delta: { content: [{ type: 'text', text: 'The answer ' }] }, finish_reason: null }] }),
    openAIEvent({ ...head, choices: [{ index: 0, delta: { content: [{ type: 'text', text: 'is 42.' }] }, finish_reason: 'stop' }] }),
    openAIEvent({ ...head, choices: [], usage: { prompt_tokens: 10, completion_tokens: 30, total_tokens: 40 } }),
    openAIEvent('[DONE]'),
  ])

const messagesRequest = { model: 'plain:m', max_tokens: 500, messages: [{ role: 'user' as const, content: 'What is the answer?' }] }
const responsesRequest = { model: 'chat:m', max_output_tokens: 500, store: false, input: 'What is the answer?' }
const textOf = (content: Array<{ type: string; text?: string }>) => content.filter((b) => b.type === 'text').map((b) => b.text).join('')

/** The answer's text as the client got it, after checking the request settled as a success. */
async function answered(ask: () => Promise<string>): Promise<string> {
  let text = ''
  const row = await settledRow(gw, USER, async () => {
    text = await ask()
  })
  expect(row.status).toBe('ok')
  return text
}

test('/v1/messages JSON: the text parts of an array content reach the Anthropic client, the thinking left out', async () => {
  upstream.answer(magistralCompletion)
  const content = await answered(async () => JSON.stringify((await anthropic.messages.create(messagesRequest)).content))
  expect(JSON.parse(content)).toEqual([{ type: 'text', text: ANSWER }])
})

test('/v1/messages streamed: the text parts of array deltas reach the Anthropic client', async () => {
  upstream.answer(magistralStream)
  expect(await answered(async () => textOf((await anthropic.messages.stream(messagesRequest).finalMessage()).content))).toBe(ANSWER)
})

test('/v1/responses through chat, JSON: the text parts of an array content are the output text', async () => {
  upstream.answer(magistralCompletion)
  expect(await answered(async () => (await openai.responses.create(responsesRequest)).output_text)).toBe(ANSWER)
})

test('/v1/responses through chat, streamed: the text parts of array deltas are the output text', async () => {
  upstream.answer(magistralStream)
  expect(await answered(async () => (await openai.responses.stream(responsesRequest).finalResponse()).output_text)).toBe(ANSWER)
})
