import { afterAll, beforeAll, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { openAIEvent, scriptedGateway, type ScriptedUpstream, sseResponse } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'

/**
 * Mutation guard: a chat stream's usage stands for the output delivered after an earlier one only if it
 * counts MORE output (src/metering/openai-stream.ts `noteUsage`: "Only a usage that counts more output than the one
 * held can have counted the output delivered since"), as the Messages meter's test already pins for Anthropic. The
 * chat tests only restate a usage of zeros, so `>` → `>=` survived: the same 1-token usage repeated (a proxy
 * replaying the provider's) after 1,000 words bills them as 1 token. plain:m: 1 µ$ in, 2 µ$ out (scriptedGateway).
 */
let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string
let stop: () => Promise<void>
beforeAll(async () => {
  ;({ upstream, gw, secret, stop } = await scriptedGateway('kc-same-usage'))
})
afterAll(() => stop())

const LONG = 'word '.repeat(1_000)
const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
  openAIEvent({ id: 'c1', object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: finish }] })
const usageChunk = (usage: Record<string, unknown>) => openAIEvent({ id: 'c1', object: 'chat.completion.chunk', choices: [], usage })
const ONE = { prompt_tokens: 20, completion_tokens: 1, total_tokens: 21 }

test('output after a usage, then the same usage restated: the output is not covered by it, the stream pays its hold', async () => {
  upstream.answer(() => sseResponse([chunk({ role: 'assistant', content: 'ok' }), usageChunk(ONE), chunk({ content: LONG }), chunk({}, 'stop'), usageChunk(ONE), openAIEvent('[DONE]')]))
  const row = await settledRow(gw, 'kc-same-usage', async () => {
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'plain:m', max_tokens: 4_000, stream: true, messages: [{ role: 'user', content: 'Write a lot' }] }),
    })
    expect(res.status).toBe(200)
    await res.text()
  })
  // 5,000 bytes of output were delivered after the 1-token usage; billed from it, the row would cost 20 + 2 µ$.
  expect(row.cost).toBeGreaterThanOrEqual(row.reserved)
  expect(row.cost).toBeGreaterThan(20 + 1 * 2)
})
