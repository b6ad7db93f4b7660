import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { settledRow } from './support/settled-row'
import { jsonResponse, scriptedProviders, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'

/**
 * README "Tiers": "A request that asks for none (or `auto`) leaves the tier to the project's default: … with cap-output
 * on it is held at the dearest tier the price prices (`fast` aside), so that `spend ≤ max_budget` holds whatever the
 * default is". The Anthropic-compatible endpoints that serve OpenAI's models (OpenRouter's `/api/v1/messages` serving
 * `openai/gpt-5.6`) serve them at the project's default tier and report it in `usage.service_tier`. Held at the plain
 * rates, a priority default's usage would be capped to them (the hold bounds the rates with cap-output on): the user
 * charged half of what the provider bills the gateway, where the same request on chat is held and billed at priority.
 *
 * ant:openai/gpt-5.6: 1 µ$ in, 2 µ$ out per token, priority 2×; cap-output on.
 */
let upstream: ScriptedUpstream
let gw: TestGateway

beforeAll(async () => {
  upstream = startScriptedUpstream()
  gw = await startTestGateway({
    config: {
      providers: scriptedProviders(upstream),
      cap_output_tokens: true,
      pricing: { 'ant:openai/gpt-5.6': { input_per_million: 1, output_per_million: 2, service_tiers: { priority: 2 } } },
    },
  })
})
afterAll(async () => {
  await gw.stop()
  await upstream.stop()
})

describe('cap-output on: Messages towards a non-Claude model, no tier asked, served at the project default priority', () => {
  test('held and billed at priority, as the provider bills it (nothing left unbilled)', async () => {
    upstream.answer(() =>
      jsonResponse({
        id: 'msg_1', type: 'message', role: 'assistant', model: 'openai/gpt-5.6', content: [{ type: 'text', text: 'ok' }],
        stop_reason: 'max_tokens', stop_sequence: null,
        usage: { input_tokens: 5, output_tokens: 1_000, cache_read_input_tokens: 0, cache_creation_input_tokens: 0, service_tier: 'priority' },
      }),
    )
    const { secret } = await gw.userWithKey({ id: 'msg-default-priority', max_budget: 10 })
    const row = await settledRow(gw, 'msg-default-priority', async () => {
      const res = await fetch(`${gw.url}/v1/messages`, {
        method: 'POST',
        headers: { 'x-api-key': secret, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'ant:openai/gpt-5.6', max_tokens: 1_000, messages: [{ role: 'user', content: 'Hello' }] }),
      })
      expect(res.status).toBe(200)
      await res.text()
    })
    expect(upstream.calls.at(-1)!.body.max_tokens).toBe(1_000)
    // The provider's bill: (5 × 1 + 1,000 × 2) × 2.
    expect(row.cost).toBe((5 + 1_000 * 2) * 2)
  })

  test('chat translated to the same endpoint: held and billed at priority too', async () => {
    upstream.answer(() =>
      jsonResponse({
        id: 'msg_2', type: 'message', role: 'assistant', model: 'openai/gpt-5.6', content: [{ type: 'text', text: 'ok' }],
        stop_reason: 'max_tokens', stop_sequence: null,
        usage: { input_tokens: 5, output_tokens: 1_000, cache_read_input_tokens: 0, cache_creation_input_tokens: 0, service_tier: 'priority' },
      }),
    )
    const { secret } = await gw.userWithKey({ id: 'chat-ant-default-priority', max_budget: 10 })
    const row = await settledRow(gw, 'chat-ant-default-priority', async () => {
      const res = await fetch(`${gw.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'ant:openai/gpt-5.6', max_tokens: 1_000, messages: [{ role: 'user', content: 'Hello' }] }),
      })
      expect(res.status).toBe(200)
      await res.text()
    })
    expect(upstream.calls.at(-1)!.path).toBe('/v1/messages')
    expect(row.cost).toBe((5 + 1_000 * 2) * 2)
  })
})
