import { describe, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { settledRow } from './support/settled-row'
import { jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * SPEC §5: a request asking for a pricier service tier the price book cannot price → 402 pricing_required; priced,
 * held at its worst case and settled at it. OpenRouter serves Claude Opus fast mode on the regular model ("Fast mode
 * is now served by the fast service tier … request it with service_tier: "fast" or speed: "fast"", OpenRouter's
 * anthropic/claude-opus-4.8-fast page), at 2× (Opus 4.8) or 6× (Opus 4.6) the standard rates. The chat body goes
 * upstream as it came, `speed: "fast"` included: it is the tier `fast`, refused unpriced, held and billed priced.
 *
 * plain:anthropic/claude-opus-4.8 (an OpenAI-type provider, OpenRouter): 1 µ$ in, 2 µ$ out per token.
 */
let upstream: ScriptedUpstream
let gw: TestGateway

withScriptedGateway(
  {
    pricing: {
      'plain:anthropic/claude-opus-4.8': { input_per_million: 1, output_per_million: 2 },
      'plain:anthropic/claude-opus-4.6': { input_per_million: 1, output_per_million: 2, service_tiers: { fast: 6 } },
    },
  },
  (started) => ({ upstream, gw } = started),
)

const answer = () =>
  jsonResponse({
    id: 'gen-1', object: 'chat.completion', created: 1, model: 'anthropic/claude-opus-4.8',
    choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 1_000, completion_tokens: 500, total_tokens: 1_500 },
  })

const post = (secret: string, model: string) =>
  fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, max_tokens: 1_000, speed: 'fast', messages: [{ role: 'user', content: 'Hello' }] }),
  })

describe('chat speed: "fast" (a router\'s fast mode) is a billed tier', () => {
  test('unpriced: refused 402 before any upstream call, not served at the plain rates', async () => {
    upstream.answer(answer)
    const { secret } = await gw.userWithKey({ id: 'chat-fast', max_budget: 10 })
    const calls = upstream.calls.length
    const res = await post(secret, 'plain:anthropic/claude-opus-4.8')
    const text = await res.text()
    expect(upstream.calls.slice(calls).map((c) => c.body.speed)).toEqual([])
    expect(res.status).toBe(402)
    expect(text).toContain('fast')
  })

  test('priced (fast: 6): billed at the fast multiplier it asked for', async () => {
    upstream.answer(answer)
    const { secret } = await gw.userWithKey({ id: 'chat-fast-priced', max_budget: 10 })
    const row = await settledRow(gw, 'chat-fast-priced', async () => {
      const res = await post(secret, 'plain:anthropic/claude-opus-4.6')
      expect(res.status).toBe(200)
      await res.text()
    })
    expect(upstream.calls.at(-1)!.body.speed).toBe('fast')
    expect(row.cost).toBe((1_000 + 500 * 2) * 6)
  })
})
