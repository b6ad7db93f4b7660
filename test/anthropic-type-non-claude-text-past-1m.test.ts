/**
 * Towards an Anthropic-type provider the estimate holds a request's files and media no more than the window, 1M
 * tokens when the row states none, but only for Claude (Anthropic refuses a longer prompt). A non-Claude model behind
 * an Anthropic-compatible endpoint (OpenRouter's: x-ai/grok-4-fast, a 2M window) has no window assumed, and the plain
 * text a request carries is never held below its UTF-8 bytes (SPEC §6): 1.5 MB of text must not be held for 1M
 * tokens and billed 1.5M, past max_budget with cap-output on.
 */
import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { spendAtHeldBudget } from './support/held-budget'
import { jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

let upstream: ScriptedUpstream
let gw: TestGateway
withScriptedGateway(
  { cap_output_tokens: true, pricing: { 'ant:x-ai/grok-4-fast': { input_per_million: 0.5, output_per_million: 2 } } },
  (started) => ({ upstream, gw } = started),
)

const TEXT_BYTES = 1_500_000

test('1.5 MB of plain text to a non-Claude model behind an Anthropic-type provider: spend stays within max_budget', async () => {
  // The provider bills one token a byte: the SPEC's bound (a token is at least one byte).
  upstream.answer(({ body }) =>
    jsonResponse({
      id: 'msg_1', type: 'message', role: 'assistant', model: body.model, content: [{ type: 'text', text: 'ok' }],
      stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: TEXT_BYTES, output_tokens: 2 },
    }),
  )
  const words = 'lorem ipsum dolor sit amet consectetur '.repeat(Math.ceil(TEXT_BYTES / 39)).slice(0, TEXT_BYTES)
  const body = { model: 'ant:x-ai/grok-4-fast', max_tokens: 16, messages: [{ role: 'user', content: words }] }
  const { second, spend, budget } = await spendAtHeldBudget(gw, '/v1/messages', body, 'grok-long-text')
  await second.text().catch(() => '')
  // Either refused up front (its text alone is past the hold) or held for it: never billed past the budget.
  expect(spend).toBeLessThanOrEqual(budget)
})
