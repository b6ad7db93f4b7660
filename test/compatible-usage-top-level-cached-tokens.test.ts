import { beforeAll, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'

/**
 * Moonshot's Kimi API (OpenAI-compatible, automatic context caching) reports its cache hits as a top-level
 * `usage.cached_tokens`, inside `prompt_tokens` (Kimi docs, context caching; clients read it so, e.g.
 * `usage.prompt_tokens_details?.cached_tokens ?? usage.prompt_cache_hit_tokens ?? usage.cached_tokens`), and
 * bills them at its cache-hit rate (kimi-k2: $0.15/M hit, $0.60/M miss, $2.50/M output); DeepSeek reports them as
 * `prompt_cache_hit_tokens` beside `prompt_cache_miss_tokens`. SPEC §5: "Cached input tokens reported by the
 * provider are billed at the cached rate when one is set." They were billed at the full input rate.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
let secret: string
const USER = 'compatible-cache-hits'
withScriptedGateway(
  { pricing: { 'plain:kimi-k2': { input_per_million: 0.6, cached_input_per_million: 0.15, output_per_million: 2.5 } } },
  (s) => ({ upstream, gw } = s),
)
beforeAll(async () => {
  ;({ secret } = await gw.userWithKey({ id: USER, max_budget: 10 }))
})

async function billed(usage: Record<string, unknown>): Promise<{ cost: number; cached: number }> {
  upstream.answer(() =>
    jsonResponse({
      id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: 'kimi-k2',
      choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
      usage,
    }),
  )
  const row = await settledRow(gw, USER, async () => {
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'plain:kimi-k2', max_tokens: 200, messages: [{ role: 'user', content: 'context '.repeat(5_000) }] }),
    })
    expect(res.status).toBe(200)
    await res.text()
  })
  return { cost: row.cost, cached: gw.query<{ cached_tokens: number }>('SELECT cached_tokens FROM usage ORDER BY id DESC LIMIT 1')[0]!.cached_tokens }
}

// The provider's bill: 2,000 × 0.60 + 8,000 × 0.15 + 100 × 2.50 = 1,200 + 1,200 + 250 = 2,650 µ$
// (every prompt token at the miss rate would be 6,250 µ$).
test('Kimi usage.cached_tokens (8,000 of 10,000 prompt tokens) are billed at the cached rate', async () => {
  expect(await billed({ prompt_tokens: 10_000, completion_tokens: 100, total_tokens: 10_100, cached_tokens: 8_000 })).toEqual({ cost: 2_650, cached: 8_000 })
})

test("DeepSeek's prompt_cache_hit_tokens are billed at the cached rate", async () => {
  const usage = { prompt_tokens: 10_000, completion_tokens: 100, total_tokens: 10_100, prompt_cache_hit_tokens: 8_000, prompt_cache_miss_tokens: 2_000 }
  expect(await billed(usage)).toEqual({ cost: 2_650, cached: 8_000 })
})

test('the largest of the shapes a usage states is the cached count', async () => {
  const usage = { prompt_tokens: 10_000, completion_tokens: 100, total_tokens: 10_100, prompt_tokens_details: { cached_tokens: 0 }, cached_tokens: 8_000 }
  expect(await billed(usage)).toEqual({ cost: 2_650, cached: 8_000 })
})

test('a cached count past prompt_tokens counts at most the prompt: it never raises the input billed', async () => {
  // 10,000 × 0.15 + 100 × 2.50 = 1,750 µ$, not 50,000 cached tokens (7,750 µ$).
  expect(await billed({ prompt_tokens: 10_000, completion_tokens: 100, total_tokens: 10_100, cached_tokens: 50_000 })).toEqual({ cost: 1_750, cached: 10_000 })
})
