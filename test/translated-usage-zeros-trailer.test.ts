import { expect, setDefaultTimeout, test } from 'bun:test'
import type Anthropic from '@anthropic-ai/sdk'
import type OpenAI from 'openai'
import type { TestGateway } from './support/gateway'
import { openAIEvent, sseResponse, type ScriptedUpstream } from './support/scripted-upstream'
import { withTranslatingGateway } from './support/translating-gateway'
import { settledRow } from './support/settled-row'

setDefaultTimeout(30_000)

/**
 * A chat stream whose provider usage (20 in, 1,000 out) is followed by a usage of zeros (a proxy appending its own,
 * test/openai-stream-repeated-usage.test.ts): the meter keeps the largest of each count and bills 20 + 1,000.
 * The translated streams kept only the last usage they saw, so an Anthropic client (`/v1/messages` to an `openai`
 * provider) or a Responses client (a `responses: chat` provider) was told 0 input and 0 output tokens for an answer
 * it was billed 2,020 µ$ for. They now keep each count the largest stated, as the meter does.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
let anthropic: Anthropic
let openai: OpenAI
const USER = 'translated-zeros-trailer'

withTranslatingGateway(USER, (started) => ({ upstream, gw, anthropic, openai } = started))

const head = { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'm' }
const usageChunk = (usage: Record<string, number>) => openAIEvent({ ...head, choices: [], usage })
const zerosAfterUsage = () =>
  sseResponse([
    openAIEvent({ ...head, choices: [{ index: 0, delta: { role: 'assistant', content: 'word '.repeat(1_000) }, finish_reason: null }] }),
    openAIEvent({ ...head, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }),
    usageChunk({ prompt_tokens: 20, completion_tokens: 1_000, total_tokens: 1_020 }),
    usageChunk({ prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 }),
    openAIEvent('[DONE]'),
  ])

async function toldAndBilled(ask: () => Promise<{ input: number; output: number }>) {
  let told = { input: -1, output: -1 }
  const row = await settledRow(gw, USER, async () => {
    told = await ask()
  })
  expect({ status: row.status, cost: row.cost, output: row.completion_tokens }).toEqual({ status: 'ok', cost: 20 + 1_000 * 2, output: 1_000 })
  return told
}

test('/v1/messages: a usage of zeros after the provider usage leaves the client told the counts it is billed', async () => {
  upstream.answer(zerosAfterUsage)
  const told = await toldAndBilled(async () => {
    const { usage } = await anthropic.messages.stream({ model: 'plain:m', max_tokens: 4_000, messages: [{ role: 'user', content: 'Write a lot' }] }).finalMessage()
    return { input: usage.input_tokens, output: usage.output_tokens }
  })
  expect(told).toEqual({ input: 20, output: 1_000 })
})

test('/v1/responses through chat: a usage of zeros after the provider usage leaves the client told the counts it is billed', async () => {
  upstream.answer(zerosAfterUsage)
  const told = await toldAndBilled(async () => {
    const { usage } = await openai.responses.stream({ model: 'chat:m', max_output_tokens: 4_000, store: false, input: 'Write a lot' }).finalResponse()
    return { input: usage!.input_tokens, output: usage!.output_tokens }
  })
  expect(told).toEqual({ input: 20, output: 1_000 })
})
