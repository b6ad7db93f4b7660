import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * A chat answer without a usage is charged its whole hold "at the tier the provider stated" (src/metering/outcome.ts
 * wholeHoldCharge); with cap-output on never above the hold. A request that asked for `priority` (held at ×2) and was
 * served at `default` (the answer says so) is charged the hold's tokens at the plain rates: half the hold, not all of
 * it. (Mutation guard: Math.min(atTier, whole.cost) turned Math.max, which bills the priority rate the provider did
 * not charge.)
 */
let upstream: ScriptedUpstream
let gw: TestGateway
withScriptedGateway(
  {
    cap_output_tokens: true,
    default_max_output_tokens: 64,
    pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2, service_tiers: { priority: 2 } } },
  },
  (s) => ({ upstream, gw } = s),
)

test('cap-output on: priority asked, default served, no usage: charged the held tokens at the plain rates', async () => {
  upstream.answer(() =>
    jsonResponse({
      id: 'c1', object: 'chat.completion', created: 1, model: 'm', service_tier: 'default',
      choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
    }),
  )
  const { secret } = await gw.userWithKey({ id: 'tiered', max_budget: 1 })
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'plain:m', service_tier: 'priority', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] }),
  })
  expect(res.status).toBe(200)
  await res.arrayBuffer()
  await gw.settled()
  const row = gw.query<{ cost: number; reserved: number; prompt_tokens: number; completion_tokens: number }>(
    'SELECT cost, reserved, prompt_tokens, completion_tokens FROM usage ORDER BY id DESC LIMIT 1',
  )[0]!
  // The hold priced its tokens at ×2 (priority); served at the plain rates, they cost half of it.
  expect(row.cost).toBe(Math.ceil(row.reserved / 2))
  expect(row.cost).toBeLessThan(row.reserved)
})
