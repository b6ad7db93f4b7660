import { beforeAll, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'

/**
 * Mutation guard. SPEC §5: "Cached input tokens reported by the provider are billed at the cached rate
 * when one is set." A cached rate of 0 is set (a provider whose cache hits are free, or an operator passing them on
 * free): cached tokens bill nothing, and only the uncached rest is billed at the input rate. Read as "no cached rate"
 * (a zero taken for a missing price), every cached token would be billed at the full input rate.
 *
 * Kills: src/pricing/price.ts costOf `price.cachedInputPerMillion == null ? 0 : …` → `!price.cachedInputPerMillion ? 0 : …`,
 * which compatible-usage-shapes, compatible-usage-top-level-cached-tokens and fuzz-money survived.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string
const USER = 'ku-zero-cached-rate'
withScriptedGateway(
  { pricing: { 'plain:free-hits': { input_per_million: 1, cached_input_per_million: 0, output_per_million: 2 } } },
  (s) => ({ upstream, gw } = s),
)
beforeAll(async () => {
  ;({ secret } = await gw.userWithKey({ id: USER, max_budget: 10 }))
})

// 2,000 uncached × 1 + 8,000 cached × 0 + 100 output × 2 = 2,200 µ$ (all 10,000 at the input rate: 10,200).
test('cached tokens at a cached rate of 0 bill nothing', async () => {
  upstream.answer(() =>
    jsonResponse({
      id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: 'free-hits',
      choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 10_000, completion_tokens: 100, total_tokens: 10_100, prompt_tokens_details: { cached_tokens: 8_000 } },
    }),
  )
  const row = await settledRow(gw, USER, async () => {
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'plain:free-hits', max_tokens: 200, messages: [{ role: 'user', content: 'context '.repeat(5_000) }] }),
    })
    expect(res.status).toBe(200)
    await res.text()
  })
  expect(row.cost).toBe(2_200)
})
