import { describe, expect, test } from 'bun:test'
import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ConfigError, loadConfig } from '../src/config/load'
import { anthropicFeatures, openAIChatFeatures, openAIResponsesFeatures, unpricedFeature } from '../src/pricing/features'
import { costOf, NO_FEATURES, worstCaseCost, type Price } from '../src/pricing/price'
import { InvalidPrice, priceMicros } from '../src/pricing/price-amounts'
import { MASTER_KEY, tempDir, type TestGateway } from './support/gateway'
import { jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * OpenAI bills GPT-5.4 (1.05M window, on by default: no request flag opts in) at 2× input (cache reads too) and
 * 1.5× output for the whole request once its input passes 272K tokens (developers.openai.com/api/docs/models/gpt-5.4).
 * A price row says where its long-context rates start (`long_context_above_tokens`): past it, `long_context` and
 * `long_context_output` apply to every request to the model, whatever its wire format. A row without one keeps
 * Anthropic's rule: only a request with the context-1m beta, past 200K. Before the fix an OpenAI request was never
 * billed at them: the 300K-token request below was settled at the plain rates, half its input's bill.
 */
const price: Price = {
  id: 1, model: 'openai:gpt-5.4', inputPerMillion: 2_500_000, outputPerMillion: 15_000_000, cachedInputPerMillion: 250_000, perRequest: null, createdAt: 0,
  tierMultipliers: { long_context: 2000, long_context_output: 1500 },
  longContextAboveTokens: 272_000,
}
const usage = { promptTokens: 300_000, completionTokens: 1000, cachedTokens: 0 }
// OpenAI's bill: 300K × $2.50/M × 2 + 1,000 × $15/M × 1.5, in micro-USD.
const billed = 300_000 * 2.5 * 2 + 1000 * 15 * 1.5

describe('OpenAI long-context rates, by the row\'s own threshold', () => {
  test('a gpt-5.4 chat request past 272K input settles at the long-context rates its row prices', () => {
    const features = openAIChatFeatures({ model: 'gpt-5.4', messages: [{ role: 'user', content: 'x' }] }, 'gpt-5.4')
    expect(costOf(price, usage, features)).toBe(billed)
  })

  test('a gpt-5.4 Responses request past 272K input settles at the long-context rates its row prices', () => {
    const { features } = openAIResponsesFeatures({ model: 'gpt-5.4', input: 'x' }, { defaultMaxUses: 5 }, 'gpt-5.4')
    expect(costOf(price, usage, features)).toBe(billed)
  })

  test('cache reads count toward the threshold and are billed at 2× too; at 272K exactly, the plain rates', () => {
    const cached = { promptTokens: 300_000, completionTokens: 1000, cachedTokens: 200_000 }
    expect(costOf(price, cached, NO_FEATURES)).toBe(100_000 * 2.5 * 2 + 200_000 * 0.25 * 2 + 1000 * 15 * 1.5)
    expect(costOf(price, { ...usage, promptTokens: 272_000 }, NO_FEATURES)).toBe(272_000 * 2.5 + 1000 * 15)
  })

  test('the hold is judged by the same threshold: past it, held at the long-context rates', () => {
    expect(worstCaseCost(price, 300_000, 1000, NO_FEATURES)).toBe(billed)
    expect(worstCaseCost(price, 250_000, 1000, NO_FEATURES)).toBe(250_000 * 2.5 + 1000 * 15)
  })

  test('without a threshold, Anthropic\'s rule stands: only with context-1m, past 200K', () => {
    const flagless = { ...price, longContextAboveTokens: null }
    expect(costOf(flagless, usage, NO_FEATURES)).toBe(300_000 * 2.5 + 1000 * 15)
    const { features } = anthropicFeatures({ model: 'm', messages: [] }, { defaultMaxUses: 5, useInputTokens: 0 }, 'context-1m-2025-08-07')
    expect(costOf(flagless, { ...usage, promptTokens: 210_000 }, features)).toBe(210_000 * 2.5 * 2 + 1000 * 15 * 1.5)
  })

  test('require-pricing of the context-1m window names the row\'s threshold', () => {
    const { features } = anthropicFeatures({ model: 'm', messages: [] }, { defaultMaxUses: 5, useInputTokens: 0 }, 'context-1m-2025-08-07')
    const bare: Price = { ...price, tierMultipliers: {}, longContextAboveTokens: null }
    expect(unpricedFeature(bare, features, 210_000)).toBe('the long context window (anthropic-beta context-1m) past 200000 input tokens')
    // Such a row is never written (priceMicros refuses it); the message would still name where its rates start.
    expect(unpricedFeature({ ...bare, longContextAboveTokens: 272_000 }, features, 250_000)).toBeNull()
    expect(unpricedFeature({ ...bare, longContextAboveTokens: 272_000 }, features, 280_000)).toMatch(/past 272000 input tokens/)
  })

  test('a threshold without service_tiers.long_context, or not a whole number of tokens, is refused', () => {
    expect(() => priceMicros('openai:gpt-5.4', { input_per_million: 2.5, output_per_million: 15, long_context_above_tokens: 272_000 })).toThrow(InvalidPrice)
    expect(() => priceMicros('openai:gpt-5.4', { input_per_million: 2.5, output_per_million: 15, service_tiers: { long_context: 2 }, long_context_above_tokens: 0.5 })).toThrow(InvalidPrice)
    expect(priceMicros('openai:gpt-5.4', { input_per_million: 2.5, output_per_million: 15, service_tiers: { long_context: 2 }, long_context_above_tokens: 272_000 }).longContextAboveTokens).toBe(272_000)
  })

  test('the config file refuses a threshold without service_tiers.long_context, naming the field', () => {
    const dir = tempDir('tollgate-olc-')
    try {
      const file = join(dir, 'tollgate.yaml')
      writeFileSync(file, "pricing:\n  'openai:gpt-5.4':\n    input_per_million: 2.5\n    output_per_million: 15\n    long_context_above_tokens: 272000\n")
      const load = () => loadConfig({ TOLLGATE_MASTER_KEY: MASTER_KEY, TOLLGATE_CONFIG: file })
      expect(load).toThrow(ConfigError)
      expect(load).toThrow('pricing.openai:gpt-5.4.long_context_above_tokens: needs service_tiers.long_context')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

let upstream: ScriptedUpstream
let gw: TestGateway

withScriptedGateway(
  {
    // Cap-output holds the worst case; the output clamp lowers max tokens to what the budget can pay for.
    cap_output_tokens: true,
    // GPT-5.4 are served by OpenAI's API, which writes no chat template of its own: no template allowance.
    template_overhead_tokens: 0,
    clamp_output: true,
    pricing: {
      'plain:gpt-5.4': { input_per_million: 2.5, output_per_million: 15, cached_input_per_million: 0.25, cache_write_per_million: 2.5, service_tiers: { long_context: 2, long_context_output: 1.5 }, long_context_above_tokens: 272_000 },
    },
  },
  (started) => ({ upstream, gw } = started),
)

/** The largest usage the request allows: every prompt byte a token, every output token it was allowed. */
const answerInFull = (promptTokens: number) =>
  upstream.answer(({ body }) => {
    const completion = body.max_completion_tokens ?? body.max_tokens
    return jsonResponse({
      id: 'c1', object: 'chat.completion', created: 1, model: body.model,
      choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'length' }],
      usage: { prompt_tokens: promptTokens, completion_tokens: completion, total_tokens: promptTokens + completion },
    })
  })

/** Sends a `promptTokens`-byte prompt as a user with `budget` µ$; the user's spend and what the provider bills. */
async function spendOf(id: string, promptTokens: number, budget: number, lcInput: number, lcOutput: number) {
  const { secret } = await gw.userWithKey({ id, max_budget: budget / 1e6 })
  answerInFull(promptTokens)
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'plain:gpt-5.4', max_completion_tokens: 100_000, messages: [{ role: 'user', content: 'x'.repeat(promptTokens) }] }),
  })
  await res.arrayBuffer()
  await gw.settled()
  expect(res.status).toBe(200)
  expect(upstream.calls).toHaveLength(1)
  const held = budget - Math.round(Number(res.headers.get('x-budget-remaining')) * 1e6)
  const sent = upstream.calls[0]!.body
  const completion = sent.max_completion_tokens ?? sent.max_tokens
  const bill = Math.ceil(promptTokens * 2.5 * lcInput + completion * 15 * lcOutput)
  const spend = Math.round((await gw.admin('GET', `/v1/users/${id}`)).body.spend * 1e6)
  return { spend, bill, completion, held }
}

describe('cap-output on: the hold covers the long-context rates past the row\'s threshold', () => {
  test('a 300K-token prompt: spend <= max_budget, and spend is what the provider bills at 2× input, 1.5× output', async () => {
    // $1.51: the input's $1.50 at the long-context rate, and room for 444 output tokens at $22.50/M. Held at the plain
    // rates (before the fix), the output clamp left ~50,000 tokens and the bill passed the budget by about $1.13.
    const budget = 1_510_000
    const { spend, bill, completion, held } = await spendOf('lc-openai-past', 300_000, budget, 2, 1.5)
    expect(completion).toBeGreaterThan(0)
    expect(completion).toBeLessThanOrEqual(444)
    expect(held).toBeGreaterThanOrEqual(bill)
    expect(spend).toBe(bill)
    expect(spend).toBeLessThanOrEqual(budget)
  })

  test('a 250K-token prompt, under 272K: billed at the plain rates', async () => {
    const budget = 1_000_000
    // $1: the input's $0.625 at the plain rate, and room for 25,000 output tokens at $15/M.
    const { spend, bill, completion } = await spendOf('lc-openai-under', 250_000, budget, 1, 1)
    expect(completion).toBeGreaterThan(24_000)
    expect(spend).toBe(bill)
    expect(spend).toBeLessThanOrEqual(budget)
  })
})
