import { expect, test } from 'bun:test'
import { anthropicFeatures } from '../src/pricing/features'
import { costOf, NO_FEATURES, worstCaseCost, type Price } from '../src/pricing/price'

/**
 * README (billed features, long context): `long_context_above_tokens` is "the most prompt tokens billed at the plain
 * rates" (`271999` for GPT-5.4, billed at long-context rates at 272K and above); without one, a context-1m request is
 * long once its prompt passes 200K. One token past the threshold is long-context, in the hold and in settlement:
 * guards `inLongContext` (src/pricing/price.ts) against an off-by-one that holds and bills the first long prompt plain.
 */
const price: Price = {
  id: 1, model: 'openai:gpt-5.4', inputPerMillion: 2_500_000, outputPerMillion: 15_000_000, cachedInputPerMillion: 250_000, perRequest: null, createdAt: 0,
  tierMultipliers: { long_context: 2000, long_context_output: 1500 },
  longContextAboveTokens: 271_999,
}

test('272,000 input tokens (one past long_context_above_tokens 271999) are held and billed at the long-context rates', () => {
  const long = Math.ceil(272_000 * 2.5 * 2 + 1000 * 15 * 1.5)
  expect(worstCaseCost(price, 272_000, 1000, NO_FEATURES)).toBe(long)
  expect(costOf(price, { promptTokens: 272_000, completionTokens: 1000, cachedTokens: 0 }, NO_FEATURES)).toBe(long)
  // At the threshold itself: plain.
  expect(worstCaseCost(price, 271_999, 1000, NO_FEATURES)).toBe(Math.ceil(271_999 * 2.5 + 1000 * 15))
})

test('a context-1m request of 200,001 prompt tokens (one past 200K) is held and billed at the long-context rates', () => {
  const flagless = { ...price, longContextAboveTokens: null }
  const { features } = anthropicFeatures({ model: 'm', messages: [] }, { defaultMaxUses: 5, useInputTokens: 0 }, 'context-1m-2025-08-07')
  const long = Math.ceil(200_001 * 2.5 * 2 + 1000 * 15 * 1.5)
  expect(costOf(flagless, { promptTokens: 200_001, completionTokens: 1000, cachedTokens: 0 }, features)).toBe(long)
  expect(worstCaseCost(flagless, 200_001, 1000, features)).toBe(long)
})
