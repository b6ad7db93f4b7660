import { describe, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { settledRow } from './support/settled-row'
import { anthropicEvent, jsonResponse, type ScriptedUpstream, sseResponse, withScriptedGateway } from './support/scripted-upstream'

/**
 * README "Tiers": settlement uses the tier the provider says it served — "a provider that fell back to the standard
 * tier is billed the plain rates"; the Features table: on Messages the billed tier is "`usage.service_tier` other than
 * `standard`" (only Anthropic's own `standard`, stated on every answer, leaves the tier asked for). An
 * Anthropic-compatible router serving an OpenAI model (OpenRouter's `openai/gpt-5.6`) asked `service_tier: "priority"`
 * that served it at the project's `default` tier (priority capacity exhausted) says so in `usage.service_tier:
 * "default"` and is billed default by OpenAI: the gateway bills the plain rates too, not priority (2×).
 *
 * ant:openai/gpt-5.6: 1 µ$ in, 2 µ$ out per token, priority 2×.
 */
let upstream: ScriptedUpstream
let gw: TestGateway

withScriptedGateway(
  { pricing: { 'ant:openai/gpt-5.6': { input_per_million: 1, output_per_million: 2, service_tiers: { priority: 2 } } } },
  (started) => ({ upstream, gw } = started),
)

const fellBack = { input_tokens: 1_000, output_tokens: 500, cache_read_input_tokens: 0, cache_creation_input_tokens: 0, service_tier: 'default' }

const postPriority = (secret: string, more: Record<string, unknown> = {}) =>
  fetch(`${gw.url}/v1/messages`, {
    method: 'POST',
    headers: { 'x-api-key': secret, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'ant:openai/gpt-5.6', max_tokens: 1_000, service_tier: 'priority', ...more, messages: [{ role: 'user', content: 'Hello' }] }),
  })

describe('router asked priority, answers usage.service_tier "default" (fell back)', () => {
  test('JSON: billed at the plain rates the provider billed, not at priority', async () => {
    upstream.answer(() =>
      jsonResponse({
        id: 'msg_1', type: 'message', role: 'assistant', model: 'openai/gpt-5.6', content: [{ type: 'text', text: 'ok' }],
        stop_reason: 'end_turn', stop_sequence: null, usage: fellBack,
      }),
    )
    const { secret } = await gw.userWithKey({ id: 'router-default-json', max_budget: 10 })
    const row = await settledRow(gw, 'router-default-json', async () => {
      const res = await postPriority(secret)
      expect(res.status).toBe(200)
      await res.text()
    })
    expect(upstream.calls.at(-1)!.body.service_tier).toBe('priority')
    expect(row.cost).toBe(1_000 + 500 * 2)
  })

  test('stream: billed at the plain rates the provider billed, not at priority', async () => {
    upstream.answer(() =>
      sseResponse([
        anthropicEvent({
          type: 'message_start',
          message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'openai/gpt-5.6', content: [], stop_reason: null, usage: { input_tokens: 1_000, output_tokens: 1, service_tier: 'default' } },
        }),
        anthropicEvent({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
        anthropicEvent({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'ok' } }),
        anthropicEvent({ type: 'content_block_stop', index: 0 }),
        anthropicEvent({ type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 500, service_tier: 'default' } }),
        anthropicEvent({ type: 'message_stop' }),
      ]),
    )
    const { secret } = await gw.userWithKey({ id: 'router-default-stream', max_budget: 10 })
    const row = await settledRow(gw, 'router-default-stream', async () => {
      const res = await postPriority(secret, { stream: true })
      expect(res.status).toBe(200)
      await res.text()
    })
    expect(row.cost).toBe(1_000 + 500 * 2)
  })
})
