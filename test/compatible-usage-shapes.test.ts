import { describe, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, openAIEvent, type ScriptedUpstream, sseResponse, withScriptedGateway } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'
import { responsesUsage } from '../src/translate/usage'

/**
 * How real OpenAI-compatible servers report usage the gateway must bill from, and what it bills.
 *
 * - OpenRouter (https://openrouter.ai/docs/use-cases/usage-accounting) reports prompt-cache writes as
 *   `usage.prompt_tokens_details.cache_write_tokens`, inside `prompt_tokens`; it bills them at the model's
 *   cache-write rate (Claude: 1.25× input for 5-minute writes). LiteLLM's proxy reports them as
 *   `usage.cache_creation_input_tokens` (with `cache_creation.ephemeral_{5m,1h}_input_tokens`) on its
 *   OpenAI-format answers (BerriAI/litellm#29998). The price book has a cache-write rate for the model.
 * - Perplexity's sonar-deep-research reports `reasoning_tokens`, `citation_tokens` and `num_search_queries` at the
 *   top of `usage`, outside `completion_tokens` (total = prompt + completion): bgeneto/open-webui-cost-tracker#6
 *   (prompt 108, completion 3,256, total 3,364, citation 7,299, searches 74, reasoning 73,248); the catalog
 *   (@pydantic/genai-prices, perplexity/sonar-deep-research) bills them: input $2/M, output $8/M,
 *   reasoning $3/M, citations $2/M, searches $5/1000.
 * - xAI's Live Search (`search_parameters` on chat completions) is billed per source it uses, reported as
 *   `usage.num_sources_used`.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
withScriptedGateway(
  {
    pricing: {
      // Claude Sonnet's rates through OpenRouter / LiteLLM: $3 input, $15 output, $3.75 5-minute cache writes, $6 1-hour.
      'plain:claude': { input_per_million: 3, output_per_million: 15, cached_input_per_million: 0.3, cache_write_per_million: 3.75, cache_write_1h_per_million: 6 },
      // As `tollgate prices catalog --apply` writes perplexity/sonar-deep-research (reasoning and citations folded into output).
      'plain:sonar-deep-research': { input_per_million: 2, output_per_million: 8, server_tools: { web_search: 0.005 } },
      // The same model priced by its tokens alone: its searches have no price.
      'plain:sonar-deep-research-tokens-only': { input_per_million: 2, output_per_million: 8 },
      'plain:grok-4': { input_per_million: 3, output_per_million: 15 },
      // The same model with Live Search priced: $25 per 1,000 sources.
      'plain:grok-4-live': { input_per_million: 3, output_per_million: 15, server_tools: { live_search: 0.025 } },
    },
  },
  (s) => ({ upstream, gw } = s),
)

const completion = (usage: Record<string, unknown>) =>
  jsonResponse({ id: 'c1', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }], usage })

async function billed(user: string, body: Record<string, unknown>) {
  const { secret } = await gw.userWithKey({ id: user, max_budget: 100 })
  return settledRow(gw, user, async () => {
    const res = await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })
    expect(res.status).toBe(200)
    await res.text()
  })
}

// A long system prompt marked for caching (OpenRouter and LiteLLM pass `cache_control` on to Anthropic).
const cachedChat = {
  model: 'plain:claude',
  max_tokens: 100,
  messages: [
    { role: 'system', content: [{ type: 'text', text: 'rules '.repeat(8000), cache_control: { type: 'ephemeral' } }] },
    { role: 'user', content: 'hi' },
  ],
}

// 10,100 prompt tokens of which 10,000 written to the cache, 10 output tokens.
// Provider's bill: 100 × 3 + 10,000 × 3.75 + 10 × 15 = 37,950 µ$ (5-minute writes).
const WRITE_5M_BILL = 100 * 3 + 10_000 * 3.75 + 10 * 15

describe('prompt-cache writes an OpenAI-compatible server reports are billed at the cache-write rate', () => {
  test('OpenRouter JSON: prompt_tokens_details.cache_write_tokens', async () => {
    upstream.answer(() =>
      completion({
        prompt_tokens: 10_100, completion_tokens: 10, total_tokens: 10_110,
        prompt_tokens_details: { cached_tokens: 0, cache_write_tokens: 10_000, audio_tokens: 0 },
        completion_tokens_details: { reasoning_tokens: 0 }, cost: 0.03795,
      }),
    )
    const row = await billed('am-or-json', cachedChat)
    expect(row.cost).toBeGreaterThanOrEqual(WRITE_5M_BILL)
  })

  test('OpenRouter stream: the same usage on the last chunk', async () => {
    upstream.answer(() =>
      sseResponse([
        openAIEvent({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { role: 'assistant', content: 'ok' }, finish_reason: null }] }),
        openAIEvent({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }),
        openAIEvent({
          id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [],
          usage: { prompt_tokens: 10_100, completion_tokens: 10, total_tokens: 10_110, prompt_tokens_details: { cached_tokens: 0, cache_write_tokens: 10_000 }, cost: 0.03795 },
        }),
        openAIEvent('[DONE]'),
      ]),
    )
    const row = await billed('am-or-stream', { ...cachedChat, stream: true })
    expect(row.cost).toBeGreaterThanOrEqual(WRITE_5M_BILL)
  })

  test('LiteLLM proxy JSON: cache_creation_input_tokens with a 1-hour split', async () => {
    upstream.answer(() =>
      completion({
        prompt_tokens: 10_100, completion_tokens: 10, total_tokens: 10_110,
        prompt_tokens_details: { cached_tokens: 0 },
        cache_creation_input_tokens: 10_000, cache_read_input_tokens: 0,
        cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 10_000 },
      }),
    )
    const row = await billed('am-litellm', cachedChat)
    // 100 × 3 + 10,000 × 6 (1-hour writes) + 10 × 15 = 60,450 µ$.
    expect(row.cost).toBeGreaterThanOrEqual(100 * 3 + 10_000 * 6 + 10 * 15)
  })

  test('OpenRouter Responses: input_tokens_details.cache_write_tokens are the counts\' cache writes', () => {
    const counts = responsesUsage({ input_tokens: 10_100, output_tokens: 10, total_tokens: 10_110, input_tokens_details: { cached_tokens: 0, cache_write_tokens: 10_000 } })
    expect(counts).toMatchObject({ promptTokens: 10_100, cacheWriteTokens: 10_000, completionTokens: 10 })
  })
})

describe('Perplexity sonar-deep-research: what its usage reports outside completion_tokens is billed', () => {
  const research = { model: 'plain:sonar-deep-research', max_tokens: 8000, messages: [{ role: 'user', content: 'research this' }] }

  test('reasoning_tokens and citation_tokens at the top of usage', async () => {
    upstream.answer(() => completion({ prompt_tokens: 108, completion_tokens: 3256, total_tokens: 3364, citation_tokens: 7299, reasoning_tokens: 73248 }))
    const row = await billed('am-pplx-tokens', research)
    // Perplexity: 108 × 2 + 3,256 × 8 + 73,248 × 3 + 7,299 × 2 = 260,606 µ$; the gateway's folded output rate bills more.
    expect(row.cost).toBeGreaterThanOrEqual(108 * 2 + 3256 * 8 + 73_248 * 3 + 7299 * 2)
  })

  test('num_search_queries at the priced web_search fee', async () => {
    upstream.answer(() => completion({ prompt_tokens: 108, completion_tokens: 3256, total_tokens: 3364, num_search_queries: 74 }))
    const row = await billed('am-pplx-searches', research)
    // 108 × 2 + 3,256 × 8 = 26,264 µ$ of tokens, and 74 searches × 5,000 µ$ = 370,000 µ$.
    expect(row.cost).toBeGreaterThanOrEqual(108 * 2 + 3256 * 8 + 74 * 5000)
  })

  test('a row without a web_search price: 402 pricing_required and no upstream call (it searches on every request)', async () => {
    upstream.answer(() => completion({ prompt_tokens: 108, completion_tokens: 3256, total_tokens: 3364, num_search_queries: 74 }))
    const { secret } = await gw.userWithKey({ id: 'am-pplx-unpriced', max_budget: 100 })
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ...research, model: 'plain:sonar-deep-research-tokens-only' }),
    })
    const error = (await res.json()) as { error: { code: string; message: string } }
    expect({ status: res.status, code: error.error.code, calls: upstream.calls.length }).toEqual({ status: 402, code: 'pricing_required', calls: 0 })
    expect(error.error.message).toContain('web_search')
  })
})

describe('xAI Live Search (search_parameters on chat completions) is a billed feature', () => {
  // xAI bills each source Live Search uses ($25 per 1,000, counted in `usage.num_sources_used`); the request
  // switches it on with `search_parameters: {mode: "on"}` (docs.x.ai/docs/guides/live-search, vercel/ai#6605,
  // vercel/ai#15673). The price book has no price for it: SPEC §5 wants 402 pricing_required, before any call.
  test('a row without a search price: 402 pricing_required and no upstream call', async () => {
    upstream.answer(() => completion({ prompt_tokens: 20, completion_tokens: 10, total_tokens: 30, num_sources_used: 20 }))
    const { secret } = await gw.userWithKey({ id: 'am-xai-search', max_budget: 100 })
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'plain:grok-4', max_tokens: 100, messages: [{ role: 'user', content: 'news today?' }], search_parameters: { mode: 'on', max_search_results: 20 } }),
    })
    await res.text()
    expect({ status: res.status, calls: upstream.calls.length }).toEqual({ status: 402, calls: 0 })
  })

  test('priced: held for and settled from the sources it used', async () => {
    upstream.answer(() => completion({ prompt_tokens: 20, completion_tokens: 10, total_tokens: 30, num_sources_used: 7 }))
    const row = await billed('am-xai-priced', { model: 'plain:grok-4-live', max_tokens: 100, messages: [{ role: 'user', content: 'news today?' }], search_parameters: { mode: 'auto' } })
    // 20 × 3 + 10 × 15 = 210 µ$ of tokens, and 7 sources at 25,000 µ$ = 175,000 µ$.
    expect(row.cost).toBe(20 * 3 + 10 * 15 + 7 * 25_000)
  })

  test('mode "off" asks for no search: served unpriced', async () => {
    upstream.answer(() => completion({ prompt_tokens: 20, completion_tokens: 10, total_tokens: 30, num_sources_used: 0 }))
    const row = await billed('am-xai-off', { model: 'plain:grok-4', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }], search_parameters: { mode: 'off' } })
    expect(row.cost).toBe(20 * 3 + 10 * 15)
  })
})
