import { describe, expect, test } from 'bun:test'
import { openAIChatFeatures } from '../src/pricing/features'
import { costOf, type Price } from '../src/pricing/price'
import type { TestGateway } from './support/gateway'
import { spendAtHeldBudget } from './support/held-budget'
import { jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * Chat's `web_search_options` is one search a request where OpenAI serves it (billed so, never counted). A router in
 * front of Claude (LiteLLM) sends it as Anthropic's web search with `max_uses` 1, 5 or 10 for `search_context_size`
 * low, medium or high (none without a size), run in Anthropic's server tool loop: each search is one more pass over
 * the input, and the usage counts the searches (`server_tool_use.web_search_requests`). The hold covered one search
 * and one pass, so with cap-output on (SPEC §6: `spend <= max_budget`) four of five searches went unbilled, or, with
 * the prompt read six times, spend passed the budget. On a Claude model behind an OpenAI-compatible provider the
 * request is held at the searches its size allows (10 without one), each with its pass; a usage that counts no
 * search is still billed one.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
const MODEL = 'plain:claude-sonnet-4-5'
const PROMPT = 'Summarise what changed in the Bun runtime this week. '.repeat(2_000) // ~100 KB: ~25,000 tokens
const PROMPT_TOKENS = 25_000
const RESULT_TOKENS = 5_000
const SEARCHES = 5

withScriptedGateway(
  { cap_output_tokens: true, pricing: { [MODEL]: { input_per_million: 3, output_per_million: 15, server_tools: { web_search: 0.01 } } } },
  (started) => ({ upstream, gw } = started),
)

/** LiteLLM's answer for Claude's loop of five searches: every pass over the prompt and the results so far, summed. */
const loopAnswer = () => {
  let input = 0
  for (let pass = 0; pass <= SEARCHES; pass++) input += PROMPT_TOKENS + pass * RESULT_TOKENS
  return jsonResponse({
    id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: 'claude-sonnet-4-5',
    choices: [{ index: 0, message: { role: 'assistant', content: 'Bun 1.4 shipped.' }, finish_reason: 'stop' }],
    usage: { prompt_tokens: input, completion_tokens: 200, total_tokens: input + 200, server_tool_use: { web_search_requests: SEARCHES } },
  })
}

const ask = (webSearchOptions: Record<string, unknown>) => ({
  model: MODEL, max_tokens: 512, web_search_options: webSearchOptions, messages: [{ role: 'user', content: PROMPT }],
})

test('five searches of a medium search_context_size, each a pass over the prompt, stay within max_budget, all billed', async () => {
  upstream.answer(loopAnswer)
  const { second, spend, budget } = await spendAtHeldBudget(gw, '/v1/chat/completions', ask({ search_context_size: 'medium' }), 'router-medium', { probeBudget: 10 })
  expect(second.status).toBe(200)
  expect(spend).toBeLessThanOrEqual(budget)
  // 225,000 input tokens over six passes at 3 µ$, 200 output at 15, and every search: none past the hold went unbilled.
  expect(spend).toBe(225_000 * 3 + 200 * 15 + SEARCHES * 10_000)
})

describe('the searches chat web search is held for', () => {
  const held = (options: unknown, model = 'claude-sonnet-4-5') => {
    const f = openAIChatFeatures({ messages: [], web_search_options: options }, model)
    return { searches: f.serverTools.web_search, passes: f.toolLoopUses }
  }

  test('on Claude behind a router: the max_uses LiteLLM maps search_context_size to, 10 without one, each a pass', () => {
    expect(held({ search_context_size: 'low' })).toEqual({ searches: 1, passes: 1 })
    expect(held({ search_context_size: 'medium' })).toEqual({ searches: 5, passes: 5 })
    expect(held({ search_context_size: 'high' })).toEqual({ searches: 10, passes: 10 })
    expect(held({})).toEqual({ searches: 10, passes: 10 })
    expect(held({ search_context_size: 'constructor' })).toEqual({ searches: 10, passes: 10 })
  })

  test('on any other model (OpenAI\'s search models): one search, no loop', () => {
    expect(held({ search_context_size: 'high' }, 'gpt-4o-search-preview')).toEqual({ searches: 1, passes: 0 })
    expect(held({}, 'gpt-4o-search-preview')).toEqual({ searches: 1, passes: 0 })
  })

  test('a usage that counts no search is billed one; one that counts them, what it counts', () => {
    const price: Price = { id: 1, model: 'm', inputPerMillion: 0, outputPerMillion: 0, cachedInputPerMillion: null, perRequest: null, createdAt: 0, serverTools: { web_search: 10_000 } }
    const features = openAIChatFeatures({ messages: [], web_search_options: { search_context_size: 'high' } }, 'claude-sonnet-4-5')
    const usage = { promptTokens: 10, completionTokens: 10, cachedTokens: 0 }
    expect(costOf(price, usage, features)).toBe(10_000)
    expect(costOf(price, { ...usage, serverToolUses: { web_search: 7 } }, features)).toBe(70_000)
    expect(costOf(price, { ...usage, serverToolUses: { web_search: 0 } }, features)).toBe(0)
  })
})
