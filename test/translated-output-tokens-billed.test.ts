import { expect, setDefaultTimeout, test } from 'bun:test'
import type Anthropic from '@anthropic-ai/sdk'
import type OpenAI from 'openai'
import type { TestGateway } from './support/gateway'
import { jsonResponse, openAIEvent, sseResponse, type ScriptedUpstream } from './support/scripted-upstream'
import { withTranslatingGateway } from './support/translating-gateway'
import { settledRow } from './support/settled-row'

setDefaultTimeout(30_000)

/**
 * Gemini's OpenAI-compatible endpoint leaves its thinking out of `completion_tokens` (424) but not out of
 * `total_tokens` (1,016 for a 20-token prompt); the gateway bills the output past the prompt: 996 tokens
 * (test/reasoning-outside-output-count.test.ts). A client of that server through a translation (`/v1/messages`
 * to an `openai` provider, `/v1/responses` to a `responses: chat` one) must be told the usage it is billed, as
 * test/translated-usage-in-choice.test.ts asks for Moonshot's: the translators reported `completion_tokens`, 424.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
let anthropic: Anthropic
let openai: OpenAI
const USER = 'translated-output-count'

withTranslatingGateway(USER, (started) => ({ upstream, gw, anthropic, openai } = started))

const USAGE = { prompt_tokens: 20, completion_tokens: 424, total_tokens: 1016 }
const head = { id: 'chatcmpl-g', object: 'chat.completion.chunk', created: 1, model: 'gemini-2.5-flash' }
const geminiStream = () =>
  sseResponse([
    openAIEvent({ ...head, choices: [{ index: 0, delta: { role: 'assistant', content: 'ok' }, finish_reason: null }] }),
    openAIEvent({ ...head, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }),
    openAIEvent({ ...head, choices: [], usage: USAGE }),
    openAIEvent('[DONE]'),
  ])
const geminiCompletion = () =>
  jsonResponse({ id: 'c1', object: 'chat.completion', created: 1, model: 'gemini-2.5-flash', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }], usage: USAGE })
const messagesRequest = { model: 'plain:m', max_tokens: 2_000, messages: [{ role: 'user' as const, content: 'think' }] }
const responsesRequest = { model: 'chat:m', max_output_tokens: 2_000, store: false, input: 'think' }

/** The output tokens the client was told, beside the row the request settled. */
async function toldAndBilled(ask: () => Promise<number>) {
  let told = -1
  const row = await settledRow(gw, USER, async () => {
    told = await ask()
  })
  return { told, billed: row.completion_tokens }
}

test('/v1/messages streamed: the Anthropic SDK is told the output tokens the ledger bills', async () => {
  upstream.answer(geminiStream)
  const seen = await toldAndBilled(async () => (await anthropic.messages.stream(messagesRequest).finalMessage()).usage.output_tokens)
  expect(seen).toEqual({ told: 996, billed: 996 })
})

test('/v1/messages JSON: the Anthropic SDK is told the output tokens the ledger bills', async () => {
  upstream.answer(geminiCompletion)
  const seen = await toldAndBilled(async () => (await anthropic.messages.create(messagesRequest)).usage.output_tokens)
  expect(seen).toEqual({ told: 996, billed: 996 })
})

test('/v1/responses through chat, streamed: the OpenAI SDK is told the output tokens the ledger bills', async () => {
  upstream.answer(geminiStream)
  const seen = await toldAndBilled(async () => (await openai.responses.stream(responsesRequest).finalResponse()).usage!.output_tokens)
  expect(seen).toEqual({ told: 996, billed: 996 })
})

test('/v1/responses through chat, JSON: the OpenAI SDK is told the output tokens the ledger bills', async () => {
  upstream.answer(geminiCompletion)
  const seen = await toldAndBilled(async () => (await openai.responses.create(responsesRequest)).usage!.output_tokens)
  expect(seen).toEqual({ told: 996, billed: 996 })
})
