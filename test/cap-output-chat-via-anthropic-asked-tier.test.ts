import { describe, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, postResponses, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * README "Tiers": with cap-output on, a request that asks no tier is held at the dearest tier priced — "ask
 * `service_tier: "default"` to be held at the plain rates. Towards an Anthropic-type provider this holds for a model
 * other than Claude ..., on Messages and on chat and Responses translated there". The translation carries the tier
 * asked to such a model (the router serves it so) and holds at it: a client asking `default` is held at the plain
 * rates, not at priority (2×), which a budget covering the plain hold would be refused 402 for.
 *
 * Two non-Claude models on the Anthropic-type provider, same rates; only `ant:openai/gpt-5.6` prices priority 2×.
 * Asking `default`, both holds must be the plain one: X-Budget-Remaining the same after each.
 */
let upstream: ScriptedUpstream
let gw: TestGateway

withScriptedGateway(
  {
    cap_output_tokens: true,
    pricing: {
      'ant:openai/gpt-5.6': { input_per_million: 1, output_per_million: 2, service_tiers: { priority: 2 } },
      'ant:openai/gpt-5.6-plain': { input_per_million: 1, output_per_million: 2 },
    },
  },
  (started) => ({ upstream, gw } = started),
)

const answeredAtDefault = (model: string) =>
  upstream.answer(() =>
    jsonResponse({
      id: 'msg_1', type: 'message', role: 'assistant', model, content: [{ type: 'text', text: 'ok' }],
      stop_reason: 'end_turn', stop_sequence: null,
      usage: { input_tokens: 5, output_tokens: 1, cache_read_input_tokens: 0, cache_creation_input_tokens: 0, service_tier: 'default' },
    }),
  )

/** What the budget shows left after the request: its hold is all that is taken while the answer is read. */
const remainingAfter = async (send: (secret: string) => Promise<Response>, model: string, user: string) => {
  answeredAtDefault(model)
  const { secret } = await gw.userWithKey({ id: user, max_budget: 10 })
  const res = await send(secret)
  const text = await res.text()
  expect(res.status, text).toBe(200)
  expect(upstream.calls.at(-1)!.body.service_tier).toBe('default')
  return Number(res.headers.get('x-budget-remaining'))
}

const chat = (model: string) => (secret: string) =>
  fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, max_completion_tokens: 100_000, service_tier: 'default', messages: [{ role: 'user', content: 'Hello' }] }),
  })

const responses = (model: string) => (secret: string) =>
  postResponses(gw, secret, { model, max_output_tokens: 100_000, service_tier: 'default', input: 'Hello' })

describe('cap-output on: translated to Anthropic, non-Claude model, service_tier "default" asked', () => {
  test('chat: sent on, and held at the plain rates, not at the dearest tier priced', async () => {
    const plainRow = await remainingAfter(chat('ant:openai/gpt-5.6-plain'), 'ant:openai/gpt-5.6-plain', 'chat-default-plain')
    const priorityRow = await remainingAfter(chat('ant:openai/gpt-5.6'), 'ant:openai/gpt-5.6', 'chat-default-priority')
    expect(plainRow).toBeLessThan(10)
    expect(priorityRow).toBe(plainRow)
  })

  test('Responses: sent on, and held at the plain rates, not at the dearest tier priced', async () => {
    const plainRow = await remainingAfter(responses('ant:openai/gpt-5.6-plain'), 'ant:openai/gpt-5.6-plain', 'responses-default-plain')
    const priorityRow = await remainingAfter(responses('ant:openai/gpt-5.6'), 'ant:openai/gpt-5.6', 'responses-default-priority')
    expect(plainRow).toBeLessThan(10)
    expect(priorityRow).toBe(plainRow)
  })
})
