import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * An Anthropic server tool loop of n uses is held as what its passes can read: pass k reads the prompt, the results
 * of the k uses before it (at the per-use allowance R, TOLLGATE_SERVER_TOOL_USE_INPUT_TOKENS, 20,000) and what the
 * model wrote before (src/pricing/price.ts `heldPromptTokens`): (1 + n)·prompt + R·n(n+1)/2 + n·output. It was held
 * as (1 + n)·(prompt + n·R), every pass reading every result: for Claude Code's WebSearch sub-request (its own
 * `{type: "web_search_20250305", max_uses: 8}`, a ~5 KB prompt, max_tokens 32,000) 1.49M input tokens, so on a
 * $5/$25 model a user with $5 was refused 402 on every web search, even with the output clamp on, though the
 * search's worst case fits.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
const MODEL = 'ant:claude-opus-4-5'

withScriptedGateway(
  {
    cap_output_tokens: true,
    clamp_output: true,
    pricing: { [MODEL]: { input_per_million: 5, output_per_million: 25, server_tools: { web_search: 0.01 } } },
  },
  (started) => ({ upstream, gw } = started),
)

/** Claude Code's WebSearch sub-request: its short system prompt, the query, the web search tool at max_uses 8. */
const SYSTEM = 'You are an assistant for performing a web search tool use. '.repeat(80)
const body = {
  model: MODEL,
  max_tokens: 32_000,
  system: [{ type: 'text', text: SYSTEM }],
  tools: [{ type: 'web_search_20250305', name: 'web_search', max_uses: 8 }],
  messages: [{ role: 'user', content: 'Perform a web search for the query: bun 1.4 http2 release notes' }],
}

test("Claude Code's web search (max_uses 8) is served to a $5 user on a $5/$25 model with the output clamp on", async () => {
  upstream.answer(() =>
    jsonResponse({
      id: 'msg_ws', type: 'message', role: 'assistant', model: 'claude-opus-4-5',
      content: [{ type: 'text', text: 'Bun 1.4 adds HTTP/2 to Bun.serve.' }], stop_reason: 'end_turn', stop_sequence: null,
      usage: { input_tokens: 1_300, output_tokens: 30, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
    }),
  )
  const { secret } = await gw.userWithKey({ id: 'cc-websearch', max_budget: 5 })
  const res = await fetch(gw.url + '/v1/messages', {
    method: 'POST',
    headers: { 'x-api-key': secret, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  const text = await res.text()
  expect(res.status, text).toBe(200)
})
