import { expect, test } from 'bun:test'
import { withAnthropicOutputCap } from '../src/translate/output-cap'

/**
 * README (output clamp): Anthropic extended thinking "needs `budget_tokens` ≥ 1024 and below `max_tokens`. When the
 * clamped max no longer leaves room for the client's budget, the budget is lowered to half the clamped max". A clamp
 * landing exactly on the budget leaves no room (Anthropic answers 400 "max_tokens must be greater than
 * thinking.budget_tokens"): the budget must be lowered then too. Guards the `<` of `withAnthropicOutputCap`.
 */
test('a clamped max_tokens equal to the thinking budget lowers the budget to half of it', () => {
  const body = { model: 'claude', max_tokens: 32_000, thinking: { type: 'enabled', budget_tokens: 4096 }, messages: [] }
  const capped = withAnthropicOutputCap(body, 4096) as { max_tokens: number; thinking: { budget_tokens: number } }
  expect(capped.max_tokens).toBe(4096)
  expect(capped.thinking.budget_tokens).toBeLessThan(capped.max_tokens)
  expect(capped.thinking.budget_tokens).toBe(2048)
})
