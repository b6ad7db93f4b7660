import { describe, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { settledRow } from './support/settled-row'
import { jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * README "Tiers": a JSON answer without a usage is charged its whole hold at the `service_tier` it names only on the
 * formats that state one there (the Features table: "a chat stream's chunks, a chat or Responses JSON answer"). An
 * Anthropic message's tier is its usage's, where `standard` leaves the tier asked for. An Anthropic-compatible proxy
 * that adds a top-level `service_tier: "standard"` to its answer and drops the usage must not turn a fast-mode request
 * (6×, billed so by Anthropic) into one charged at the plain rates, a sixth of what the provider bills: it is charged
 * the whole hold at fast, as the same answer without that field is.
 *
 * ant:claude-opus-4-6: 1 µ$ in, 2 µ$ out per token, fast 6×.
 */
let upstream: ScriptedUpstream
let gw: TestGateway

withScriptedGateway(
  { pricing: { 'ant:claude-opus-4-6': { input_per_million: 1, output_per_million: 2, service_tiers: { fast: 6 } } } },
  (started) => ({ upstream, gw } = started),
)

const answer = (more: Record<string, unknown>) => () =>
  jsonResponse({
    id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-opus-4-6', content: [{ type: 'text', text: 'ok' }],
    stop_reason: 'end_turn', stop_sequence: null, ...more,
  })

const postFast = (secret: string) =>
  fetch(`${gw.url}/v1/messages`, {
    method: 'POST',
    headers: { 'x-api-key': secret, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'ant:claude-opus-4-6', max_tokens: 1_000, speed: 'fast', messages: [{ role: 'user', content: 'Hello' }] }),
  })

const costOf = async (user: string, more: Record<string, unknown>) => {
  upstream.answer(answer(more))
  const { secret } = await gw.userWithKey({ id: user, max_budget: 10 })
  const row = await settledRow(gw, user, async () => {
    const res = await postFast(secret)
    expect(res.status).toBe(200)
    await res.text()
  })
  return row.cost as number
}

describe('Messages fast mode, JSON answer without a usage', () => {
  test('a top-level service_tier "standard" does not lower the charge below the whole hold at fast', async () => {
    const plain = await costOf('stated-none', {})
    const stated = await costOf('stated-standard', { service_tier: 'standard' })
    expect(plain).toBeGreaterThan(0)
    expect(stated).toBe(plain)
  })
})
