/**
 * Towards an Anthropic-type provider only a Claude model's window is assumed; another model behind an
 * Anthropic-compatible endpoint (OpenRouter's x-ai/grok-4-fast, a 2M window) is bounded only by its row's
 * context_window_tokens. The client's `anthropic-beta: context-1m-…` is Anthropic's flag: it opens no 1M window for
 * that model, so it must not cap the hold of a 600-page PDF by URL (1.8M input tokens) at 1M while the provider bills
 * 1.5M (SPEC §6: spend <= max_budget with cap-output on). Row: $0.5/M input, $2/M output, 2x past 128K input tokens
 * (xAI's Grok 4 Fast tiers), so the flag is priced.
 */
import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { spendAtHeldBudget } from './support/held-budget'
import { jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

let upstream: ScriptedUpstream
let gw: TestGateway
withScriptedGateway(
  {
    cap_output_tokens: true,
    pricing: { 'ant:x-ai/grok-4-fast': { input_per_million: 0.5, output_per_million: 2, long_context_above_tokens: 128_000, service_tiers: { long_context: 2 } } },
  },
  (started) => ({ upstream, gw } = started),
)

const BILLED_INPUT = 1_500_000 // 600 pages at 2,500 tokens: within Grok 4 Fast's 2M window

test('a 600-page PDF by URL to a non-Claude model with the client adding context-1m: spend stays within max_budget', async () => {
  upstream.answer(({ body }) =>
    jsonResponse({
      id: 'msg_1', type: 'message', role: 'assistant', model: body.model, content: [{ type: 'text', text: 'ok' }],
      stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: BILLED_INPUT, output_tokens: 2 },
    }),
  )
  const body = {
    model: 'ant:x-ai/grok-4-fast',
    max_tokens: 16,
    messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'url', url: 'https://example.com/annual-report.pdf' } }, { type: 'text', text: 'Summarise.' }] }],
  }
  const { spend, budget } = await spendAtHeldBudget(gw, '/v1/messages', body, 'grok-1m-flag', {
    headers: { 'anthropic-beta': 'context-1m-2025-08-07' },
    probeBudget: 5,
  })
  // Either held for the 600 pages (1.8M tokens) or refused: never billed past the budget.
  expect(spend).toBeLessThanOrEqual(budget)
})
