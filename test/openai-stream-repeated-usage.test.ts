import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { openAIEvent, scriptedGateway, type ScriptedUpstream, sseResponse } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'

/**
 * An OpenAI chat stream may carry more than one usage (vLLM's continuous usage stats; a proxy appending its
 * own after the provider's; a trailer after `[DONE]`). Usages are cumulative: each count is the largest
 * stated, so a later, smaller usage does not shrink the bill, and a usage after `[DONE]` is not read.
 * plain:m costs 1 µ$ a token in, 2 µ$ out (scriptedGateway).
 */
let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string
let stop: () => Promise<void>

beforeAll(async () => {
  ;({ upstream, gw, secret, stop } = await scriptedGateway('stream-repeated-usage'))
})
afterAll(() => stop())

async function streamedChat(): Promise<void> {
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'plain:m', max_tokens: 4_000, stream: true, messages: [{ role: 'user', content: 'Write a lot' }] }),
  })
  expect(res.status).toBe(200)
  await res.text()
}

const LONG = 'word '.repeat(1_000)
const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
  openAIEvent({ id: 'c1', object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: finish }] })
const usageChunk = (usage: Record<string, unknown>) => openAIEvent({ id: 'c1', object: 'chat.completion.chunk', choices: [], usage })
const PROVIDERS = { prompt_tokens: 20, completion_tokens: 1_000, total_tokens: 1_020 }
const ZEROS = { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 }

describe('a later usage does not replace a larger one', () => {
  test('a usage of zeros after the provider’s usage chunk (a proxy appending its own) does not erase the bill', async () => {
    upstream.answer(() => sseResponse([chunk({ role: 'assistant', content: LONG }), chunk({}, 'stop'), usageChunk(PROVIDERS), usageChunk(ZEROS), openAIEvent('[DONE]')]))
    const row = await settledRow(gw, 'stream-repeated-usage', streamedChat)
    // The provider reported 20 in and 1,000 out: 20 + 2,000 µ$ at least.
    expect(row.cost).toBeGreaterThanOrEqual(20 + 1_000 * 2)
  })

  test('a usage chunk after [DONE] does not replace the usage the stream finished with', async () => {
    upstream.answer(() => sseResponse([chunk({ role: 'assistant', content: LONG }), chunk({}, 'stop'), usageChunk(PROVIDERS), openAIEvent('[DONE]'), usageChunk(ZEROS)]))
    const row = await settledRow(gw, 'stream-repeated-usage', streamedChat)
    expect(row.cost).toBeGreaterThanOrEqual(20 + 1_000 * 2)
  })

  test('output after a usage, then a usage that counts no more output: the output is not covered, the stream pays its hold', async () => {
    upstream.answer(() =>
      sseResponse([chunk({ role: 'assistant', content: 'ok' }), usageChunk({ prompt_tokens: 20, completion_tokens: 1, total_tokens: 21 }), chunk({ content: LONG }), chunk({}, 'stop'), usageChunk(ZEROS), openAIEvent('[DONE]')]),
    )
    const row = await settledRow(gw, 'stream-repeated-usage', streamedChat)
    expect(row.cost).toBeGreaterThanOrEqual(row.reserved)
  })
})
