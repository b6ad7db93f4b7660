import { describe, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * Native /v1/messages with the long context window (`anthropic-beta: context-1m-…`): Anthropic bills a prompt
 * past 200K tokens (reads and writes included) at its long-context rates, so a model without a `long_context`
 * price is refused when the input the request is held for can pass 200K — what its server tools bring back
 * included, as the hold counts it. Rates: 1 and 2 µ$ a token.
 */
let upstream: ScriptedUpstream
let gw: TestGateway

withScriptedGateway(
  {
    cap_output_tokens: true,
    default_max_output_tokens: 64,
    server_tool_use_input_tokens: 20_000,
    pricing: {
      // Priced for web search, not for the long context window.
      'ant:bare': { input_per_million: 1, output_per_million: 2, server_tools: { web_search: 0 } },
    },
  },
  (started) => ({ upstream, gw } = started),
)

const message = (usage: Record<string, unknown>) =>
  jsonResponse({ id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [{ type: 'text', text: 'Done.' }], stop_reason: 'end_turn', stop_sequence: null, usage })

const post = (secret: string, body: unknown, beta: string) =>
  fetch(`${gw.url}/v1/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', 'anthropic-beta': beta },
    body: JSON.stringify(body),
  })

describe('require-pricing of the long context window counts the input the request\'s tools bring back', () => {
  // A 150,000-byte prompt: its own estimate stays under 200K; the tool's results (held by the gateway on top of it) take
  // the prompt Anthropic bills past 200K, at its long-context rates, which ant:bare cannot price.
  const prompt = [{ role: 'user', content: 'x'.repeat(150_000) }]
  const tools = {
    'web_fetch (max_content_tokens 100,000)': [{ type: 'web_fetch_20250910', name: 'web_fetch', max_uses: 1, max_content_tokens: 100_000 }],
    'web_search (max_uses 3, 20,000 input tokens held a use)': [{ type: 'web_search_20250305', name: 'web_search', max_uses: 3 }],
  }
  for (const [name, list] of Object.entries(tools))
    test(`${name}: 402 naming the long context window, before any upstream call`, async () => {
      const id = `lc-${name.split(' ')[0]!.replace('_', '-')}`
      const { secret } = await gw.userWithKey({ id, max_budget: 10 })
      upstream.answer(() => message({ input_tokens: 240_000, output_tokens: 16, server_tool_use: { web_search_requests: 2, web_fetch_requests: 1 } }))
      const res = await post(secret, { model: 'ant:bare', max_tokens: 16, messages: prompt, tools: list }, 'context-1m-2025-08-07')
      const text = await res.text()
      await gw.settled()
      // Before the fix: served (200), held and settled at the plain rates though Anthropic bills the 240,000-token
      // prompt at its long-context rates: 240,032 µ$ recorded for a bill of about twice that.
      expect(res.status).toBe(402)
      expect(text).toMatch(/long context window/)
      expect(upstream.calls).toHaveLength(0)
    })
})
