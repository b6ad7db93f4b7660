import { describe, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { settledRow } from './support/settled-row'
import { anthropicEvent, jsonResponse, type ScriptedUpstream, sseResponse, withScriptedGateway } from './support/scripted-upstream'

/**
 * SPEC §5: "a request asking for something the provider bills beyond tokens (… a pricier service tier) that the price
 * book cannot price → 402 pricing_required naming the feature; priced, it is held at its worst case and settled from
 * the usage the provider reports." README: tiers are read "from the request as the provider receives it".
 *
 * On /v1/messages `speed: "fast"` is Anthropic's tier field; but the Anthropic-compatible endpoints the README serves
 * take OpenAI's tier field as it is too: OpenRouter's Messages API (`/api/v1/messages`, which serves `openai/gpt-5.6`) forwards
 * `service_tier: "priority"` to OpenAI and reports the tier served "inside the usage object, matching Anthropic's
 * native format" (OpenRouter, Service Tiers); Fireworks' Anthropic-compatible Messages API bills
 * `service_tier: "priority"` at its priority prices too. The body goes upstream untouched, so the tier is refused
 * unpriced, and billed as the usage reports it.
 *
 * ant:openai/gpt-5.6: 1 µ$ in, 2 µ$ out per token.
 */
let upstream: ScriptedUpstream
let gw: TestGateway

withScriptedGateway(
  {
    pricing: {
      'ant:openai/gpt-5.6': { input_per_million: 1, output_per_million: 2, service_tiers: { priority: 2 } },
      'ant:openai/gpt-5.6-mini': { input_per_million: 1, output_per_million: 2 },
    },
  },
  (started) => ({ upstream, gw } = started),
)

/** OpenRouter's Messages answer for a request served at the priority tier: the tier inside `usage`. */
const servedAtPriority = () =>
  jsonResponse({
    id: 'msg_1', type: 'message', role: 'assistant', model: 'openai/gpt-5.6', content: [{ type: 'text', text: 'ok' }],
    stop_reason: 'end_turn', stop_sequence: null,
    usage: { input_tokens: 1_000, output_tokens: 500, cache_read_input_tokens: 0, cache_creation_input_tokens: 0, service_tier: 'priority' },
  })

/** The same answer streamed: the tier stated in the final usage (`message_delta`'s), beside the output. */
const streamedAtPriority = () =>
  sseResponse([
    anthropicEvent({
      type: 'message_start',
      message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'openai/gpt-5.6', content: [], stop_reason: null, usage: { input_tokens: 1_000, output_tokens: 1 } },
    }),
    anthropicEvent({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
    anthropicEvent({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'ok' } }),
    anthropicEvent({ type: 'content_block_stop', index: 0 }),
    anthropicEvent({ type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 500, service_tier: 'priority' } }),
    anthropicEvent({ type: 'message_stop' }),
  ])

const post = (secret: string, model: string, more: Record<string, unknown> = { service_tier: 'priority' }) =>
  fetch(`${gw.url}/v1/messages`, {
    method: 'POST',
    headers: { 'x-api-key': secret, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
    body: JSON.stringify({ model, max_tokens: 1_000, ...more, messages: [{ role: 'user', content: 'Hello' }] }),
  })

describe('service_tier on /v1/messages, as an Anthropic-compatible router receives it', () => {
  test('priced: settled at the priority tier the usage reports (2×), not the plain rates', async () => {
    upstream.answer(servedAtPriority)
    const { secret } = await gw.userWithKey({ id: 'msg-tier', max_budget: 10 })
    const row = await settledRow(gw, 'msg-tier', async () => {
      const res = await post(secret, 'ant:openai/gpt-5.6')
      expect(res.status).toBe(200)
      await res.text()
    })
    expect(upstream.calls.at(-1)!.body.service_tier).toBe('priority')
    // The provider's bill: (1,000 × 1 + 500 × 2) × 2.
    expect(row.cost).toBe((1_000 + 500 * 2) * 2)
  })

  test('streamed without asking (a project whose default is priority): settled at the tier the final usage states', async () => {
    upstream.answer(streamedAtPriority)
    const { secret } = await gw.userWithKey({ id: 'msg-tier-stream', max_budget: 10 })
    const row = await settledRow(gw, 'msg-tier-stream', async () => {
      const res = await post(secret, 'ant:openai/gpt-5.6', { stream: true })
      expect(res.status).toBe(200)
      await res.text()
    })
    expect(row.cost).toBe((1_000 + 500 * 2) * 2)
  })

  test('unpriced: refused 402 pricing_required before any upstream call', async () => {
    upstream.answer(servedAtPriority)
    const { secret } = await gw.userWithKey({ id: 'msg-tier-unpriced', max_budget: 10 })
    const calls = upstream.calls.length
    const res = await post(secret, 'ant:openai/gpt-5.6-mini')
    const text = await res.text()
    expect(res.status).toBe(402)
    expect(text).toContain('service tier')
    expect(upstream.calls.length).toBe(calls)
  })
})
