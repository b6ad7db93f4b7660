import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { openAIEvent, scriptedProviders, sseResponse, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'

/**
 * A later usage in an OpenAI chat stream shrinks nothing (largerCounts): a proxy appending a usage of zeros after
 * the provider's keeps the provider's counts, and now its tier too: the trailer, stamped `service_tier: "default"`,
 * once billed the provider's priority tokens at the plain rates (2,020 µ$ for 4,040). plain:m: 1 µ$ in, 2 µ$ out,
 * priority 2×.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string

beforeAll(async () => {
  upstream = startScriptedUpstream()
  gw = await startTestGateway({
    config: {
      providers: scriptedProviders(upstream),
      pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2, service_tiers: { priority: 2 } } },
    },
  })
  secret = (await gw.userWithKey({ id: 'rt-tier', max_budget: 10 })).secret
})
afterAll(async () => {
  await gw.stop()
  await upstream.stop()
})

const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
  openAIEvent({ id: 'c1', object: 'chat.completion.chunk', service_tier: 'priority', choices: [{ index: 0, delta, finish_reason: finish }] })
const usageChunk = (usage: Record<string, unknown>, service_tier: string) =>
  openAIEvent({ id: 'c1', object: 'chat.completion.chunk', service_tier, choices: [], usage })

describe('a later, smaller usage shrinks nothing: the tier included', () => {
  test('the provider served priority (20 in, 1,000 out); a trailing usage of zeros stamped "default" does not bill it at the plain rates', async () => {
    upstream.answer(() =>
      sseResponse([
        chunk({ role: 'assistant', content: 'word '.repeat(1_000) }),
        chunk({}, 'stop'),
        usageChunk({ prompt_tokens: 20, completion_tokens: 1_000, total_tokens: 1_020 }, 'priority'),
        usageChunk({ prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 }, 'default'), // a proxy's own trailer
        openAIEvent('[DONE]'),
      ]),
    )
    const row = await settledRow(gw, 'rt-tier', async () => {
      const res = await fetch(`${gw.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'plain:m', max_tokens: 4_000, stream: true, service_tier: 'priority', messages: [{ role: 'user', content: 'Write a lot' }] }),
      })
      expect(res.status).toBe(200)
      await res.text()
    })
    // The provider's bill: (20 + 1,000 × 2) × 2 at the priority tier it reported.
    expect(row.cost).toBe((20 + 1_000 * 2) * 2)
  })
})
