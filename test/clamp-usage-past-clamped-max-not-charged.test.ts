import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * SPEC §6: with cap-output on, `spend <= max_budget` is an invariant, and output a usage reports past the max the
 * provider was sent is not charged. With the output clamp the provider is sent the clamped max (X-Output-Clamped),
 * and that, not the client's max_tokens, is the bound settlement charges by: a server that ignores the max and
 * reports the client's whole max_tokens is charged no more than the clamped hold.
 * (Mutation guard: admission's clamped Admission built with tariffFor(estimate.outputTokens), the unclamped bound.)
 */
let upstream: ScriptedUpstream
let gw: TestGateway
withScriptedGateway(
  { cap_output_tokens: true, clamp_output: true, pricing: { 'plain:m': { input_per_million: 1, output_per_million: 1000 } } },
  (s) => ({ upstream, gw } = s),
)

test('cap-output and clamp on: output reported past the clamped max is not charged; spend stays within the budget', async () => {
  upstream.answer(() =>
    jsonResponse({
      id: 'c1', object: 'chat.completion', created: 1, model: 'm',
      choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'length' }],
      usage: { prompt_tokens: 10, completion_tokens: 10_000, total_tokens: 10_010 },
    }),
  )
  // $0.50: room for a few hundred output tokens at 1,000 µ$ each, far from the 10,000 asked for.
  const { secret } = await gw.userWithKey({ id: 'clamped', max_budget: 0.5 })
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'plain:m', max_tokens: 10_000, messages: [{ role: 'user', content: 'hi' }] }),
  })
  expect(res.status).toBe(200)
  const clampedTo = Number(res.headers.get('x-output-clamped'))
  expect(clampedTo).toBeGreaterThan(0)
  expect(clampedTo).toBeLessThan(10_000)
  await res.arrayBuffer()
  await gw.settled()
  const row = gw.query<{ cost: number; reserved: number }>('SELECT cost, reserved FROM usage WHERE user_id = ?', 'clamped')[0]!
  expect(row.cost).toBeLessThanOrEqual(row.reserved)
  // 10 input tokens and the clamped output, at the price.
  expect(row.cost).toBe(10 + clampedTo * 1000)
  const user = (await gw.admin('GET', '/v1/users/clamped')).body
  expect(user.spend).toBeLessThanOrEqual(user.max_budget)
})
