import { describe, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { settledRow } from './support/settled-row'
import { anthropicEvent, jsonResponse, type ScriptedUpstream, sseResponse, withScriptedGateway } from './support/scripted-upstream'

/**
 * README "Tiers": fast mode (Anthropic) is asked by `speed: "fast"` and billed at `usage.speed`; SPEC §5 settles "from
 * the usage the provider reports", the tier asked for where the usage does not say. Anthropic's `usage.service_tier`
 * (`standard`, `priority`, `batch`) is its Priority Tier capacity, another axis than `speed`: every native answer
 * carries `service_tier: "standard"`, fast or not. A fast answer whose usage lacks `speed` (an older API version, a
 * proxy that drops usage fields it does not know) is billed by Anthropic at fast mode's rates: `standard` there says
 * nothing of the tier, and must not bill it plain.
 *
 * ant:claude-opus-4-6: 1 µ$ in, 2 µ$ out per token, fast 6×.
 */
let upstream: ScriptedUpstream
let gw: TestGateway

withScriptedGateway(
  { pricing: { 'ant:claude-opus-4-6': { input_per_million: 1, output_per_million: 2, service_tiers: { fast: 6 } } } },
  (started) => ({ upstream, gw } = started),
)

const fastUsageWithoutSpeed = { input_tokens: 1_000, output_tokens: 500, cache_read_input_tokens: 0, cache_creation_input_tokens: 0, service_tier: 'standard' }

const postFast = (secret: string, more: Record<string, unknown> = {}) =>
  fetch(`${gw.url}/v1/messages`, {
    method: 'POST',
    headers: { 'x-api-key': secret, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'ant:claude-opus-4-6', max_tokens: 1_000, speed: 'fast', ...more, messages: [{ role: 'user', content: 'Hello' }] }),
  })

describe('speed "fast" answered with usage.service_tier "standard" and no usage.speed', () => {
  test('JSON: billed at fast (6×), as asked, not at the plain rates', async () => {
    upstream.answer(() =>
      jsonResponse({
        id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-opus-4-6', content: [{ type: 'text', text: 'ok' }],
        stop_reason: 'end_turn', stop_sequence: null, usage: fastUsageWithoutSpeed,
      }),
    )
    const { secret } = await gw.userWithKey({ id: 'fast-standard-json', max_budget: 10 })
    const row = await settledRow(gw, 'fast-standard-json', async () => {
      const res = await postFast(secret)
      expect(res.status).toBe(200)
      await res.text()
    })
    expect(upstream.calls.at(-1)!.body.speed).toBe('fast')
    expect(row.cost).toBe((1_000 + 500 * 2) * 6)
  })

  test('stream: billed at fast (6×), as asked, not at the plain rates', async () => {
    upstream.answer(() =>
      sseResponse([
        anthropicEvent({
          type: 'message_start',
          message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-opus-4-6', content: [], stop_reason: null, usage: { input_tokens: 1_000, output_tokens: 1, service_tier: 'standard' } },
        }),
        anthropicEvent({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
        anthropicEvent({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'ok' } }),
        anthropicEvent({ type: 'content_block_stop', index: 0 }),
        anthropicEvent({ type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 500, service_tier: 'standard' } }),
        anthropicEvent({ type: 'message_stop' }),
      ]),
    )
    const { secret } = await gw.userWithKey({ id: 'fast-standard-stream', max_budget: 10 })
    const row = await settledRow(gw, 'fast-standard-stream', async () => {
      const res = await postFast(secret, { stream: true })
      expect(res.status).toBe(200)
      await res.text()
    })
    expect(row.cost).toBe((1_000 + 500 * 2) * 6)
  })
})
