import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { spendAtHeldBudget } from './support/held-budget'
import { jsonResponse, type ScriptedCall, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * The whole context a later pass of Anthropic's server tool loop reads holds what the model wrote in the earlier ones:
 * its thinking and text before each `server_tool_use` (the assistant turn so far, counted as input on every
 * iteration), up to `max_tokens` in all. With a small `max_uses` and a large `max_tokens` (Claude Code sends
 * 32,000–64,000), a model that thinks at length before its one search or fetch makes the second pass read it all
 * again as input. The hold counts it once more for each use (`heldPromptTokens`, n·output): it did not, and spend
 * passed max_budget with cap-output on (SPEC §6: spend <= max_budget).
 */
let upstream: ScriptedUpstream
let gw: TestGateway
const MODEL = 'ant:claude-sonnet-4-5'
/** A short question: ~40 tokens (the hold counts its bytes). */
const QUESTION = 'Which HTTP status should an idempotent retry of a completed payment return? Check the current RFCs.'
const PROMPT_TOKENS = 40
const MAX_TOKENS = 64_000

withScriptedGateway(
  {
    cap_output_tokens: true,
    pricing: { [MODEL]: { input_per_million: 3, output_per_million: 15, server_tools: { web_search: 0.01 } } },
  },
  (started) => ({ upstream, gw } = started),
)

/**
 * One use of the offered tool: pass 0 thinks at length (all but 100 of max_tokens) and calls the tool; pass 1 reads
 * the prompt, that thinking and the tool's result, and answers in 100 tokens. Output in all: max_tokens.
 */
const thinkThenUseOnce = (resultTokens: number) => ({ body }: ScriptedCall) => {
  const tool = (body.tools as Array<{ type: string; name: string }>)[0]!
  const firstOutput = MAX_TOKENS - 100
  const iterations = [
    { type: 'message', input_tokens: PROMPT_TOKENS, output_tokens: firstOutput },
    { type: 'message', input_tokens: PROMPT_TOKENS + firstOutput + resultTokens, output_tokens: 100 },
  ]
  const web = tool.name === 'web_search'
  return jsonResponse({
    id: 'msg_loop', type: 'message', role: 'assistant', model: 'claude-sonnet-4-5',
    content: [
      { type: 'thinking', thinking: 'Let me reason about the RFCs first…', signature: 'sig' },
      { type: 'server_tool_use', id: 'srvtoolu_0', name: tool.name, input: web ? { query: 'idempotency-key RFC' } : { url: 'https://example.com/docs' } },
      web
        ? { type: 'web_search_tool_result', tool_use_id: 'srvtoolu_0', content: [{ type: 'web_search_result', url: 'https://example.com/0', title: 'Docs', encrypted_content: 'Eq', page_age: null }] }
        : { type: 'web_fetch_tool_result', tool_use_id: 'srvtoolu_0', content: { type: 'web_fetch_result', url: 'https://example.com/docs', content: { type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'docs' } } } },
      { type: 'text', text: '200, with the stored result.' },
    ],
    stop_reason: 'end_turn', stop_sequence: null,
    usage: {
      input_tokens: iterations.reduce((n, it) => n + it.input_tokens, 0),
      output_tokens: iterations.reduce((n, it) => n + it.output_tokens, 0),
      cache_creation_input_tokens: 0, cache_read_input_tokens: 0,
      server_tool_use: web ? { web_search_requests: 1 } : { web_fetch_requests: 1 },
      iterations,
    },
  })
}

const body = (tool: Record<string, unknown>) => ({
  model: MODEL,
  max_tokens: MAX_TOKENS,
  thinking: { type: 'enabled', budget_tokens: 60_000 },
  tools: [tool],
  messages: [{ role: 'user', content: QUESTION }],
})

const headers = { 'anthropic-version': '2023-06-01' }

test('web fetch (max_uses 1, max_content_tokens 2,000) after long thinking never takes spend past max_budget', async () => {
  upstream.answer(thinkThenUseOnce(2_000))
  const { second, spend, budget } = await spendAtHeldBudget(
    gw, '/v1/messages', body({ type: 'web_fetch_20250910', name: 'web_fetch', max_uses: 1, max_content_tokens: 2_000 }), 'loop-output-fetch',
    { headers, probeBudget: 10 },
  )
  expect(second.status).toBe(200)
  expect(spend).toBeLessThanOrEqual(budget)
})

test('web search (max_uses 1) after long thinking never takes spend past max_budget', async () => {
  upstream.answer(thinkThenUseOnce(20_000))
  const { second, spend, budget } = await spendAtHeldBudget(
    gw, '/v1/messages', body({ type: 'web_search_20250305', name: 'web_search', max_uses: 1 }), 'loop-output-search',
    { headers, probeBudget: 10 },
  )
  expect(second.status).toBe(200)
  expect(spend).toBeLessThanOrEqual(budget)
})
