import { describe, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { spendAtHeldBudget } from './support/held-budget'
import { jsonResponse, withScriptedGateway, type ScriptedUpstream } from './support/scripted-upstream'

/**
 * SPEC §6 with cap-output on: `spend <= max_budget`. A chat request to an OpenAI-compatible server in front of
 * Claude (OpenRouter, LiteLLM) may carry `cache_control` on its parts: the server passes it on and Claude writes
 * the prompt to its cache, billed at the cache-write rate of its lifetime (1h: 2× input). So the chat hold, like
 * the Messages one, is priced at that rate when the request marks anything for caching.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
withScriptedGateway(
  {
    cap_output_tokens: true,
    default_max_output_tokens: 64,
    pricing: { 'plain:claude': { input_per_million: 1, output_per_million: 2, cache_write_1h_per_million: 2 } },
  },
  (s) => ({ upstream, gw } = s),
)

describe('cap-output on: a chat request marking cache writes is held at the cache-write rate', () => {
  test('every prompt token written to the 1-hour cache (LiteLLM usage) never takes spend past max_budget', async () => {
    const text = 'z'.repeat(20_000)
    upstream.answer(({ body }: { body: any }) =>
      jsonResponse({
        id: 'c1', object: 'chat.completion', created: 1, model: body.model,
        choices: [{ index: 0, message: { role: 'assistant', content: 'x' }, finish_reason: 'length' }],
        usage: {
          prompt_tokens: 20_000, completion_tokens: body.max_tokens, total_tokens: 20_000 + body.max_tokens,
          cache_creation_input_tokens: 20_000, cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 20_000 },
        },
      }),
    )
    const body = {
      model: 'plain:claude',
      max_tokens: 10,
      messages: [{ role: 'user', content: [{ type: 'text', text, cache_control: { type: 'ephemeral', ttl: '1h' } }, { type: 'text', text: 'summarise' }] }],
    }
    const { second, spend, budget } = await spendAtHeldBudget(gw, '/v1/chat/completions', body, 'cw-chat-1h')
    expect(second.status).toBe(200)
    // 20,000 cache-written tokens at $2/M (40,000 µ$) + 10 output at $2/M; a hold at the $1/M input rate covers half.
    expect(spend).toBeLessThanOrEqual(budget)
  })
})
