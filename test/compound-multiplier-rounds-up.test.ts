import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'
import { settledRow } from './support/settled-row'

/**
 * Mutation guard: a service tier's multiplier with the inference geography's on top is compounded
 * rounded UP to the thousandth (src/pricing/price.ts `compound`: "`multiplier` with `other` on top ..., rounded up";
 * README: costs never bill less than the provider charges). Every existing test compounds multipliers whose product
 * is a whole thousandth (6 × 1.1, 2 × 1.1), so rounding down (`Math.ceil` → `Math.floor`) survived.
 * ant:m: 1 µ$ an input token, 2 µ$ an output token; fast ×1.875, US-only inference ×1.1: 2.0625, billed at 2.063.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
withScriptedGateway(
  { pricing: { 'ant:m': { input_per_million: 1, output_per_million: 2, service_tiers: { fast: 1.875, inference_geo_us: 1.1 } } } },
  (s) => ({ upstream, gw } = s),
)

test('fast mode with US-only inference: the compounded multiplier is rounded up, never down', async () => {
  upstream.answer(() =>
    jsonResponse({
      id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [{ type: 'text', text: 'Done.' }], stop_reason: 'end_turn', stop_sequence: null,
      usage: { input_tokens: 1_000_000, output_tokens: 1_000, speed: 'fast', inference_geo: 'us' },
    }),
  )
  const { secret } = await gw.userWithKey({ id: 'kc-compound', max_budget: 10 })
  const row = await settledRow(gw, 'kc-compound', async () => {
    const res = await fetch(`${gw.url}/v1/messages`, {
      method: 'POST', headers: { 'x-api-key': secret, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'ant:m', max_tokens: 1_000, speed: 'fast', inference_geo: 'us', messages: [{ role: 'user', content: 'Hi' }] }),
    })
    expect(res.status).toBe(200)
    await res.text()
  })
  // (1,000,000 × 1 + 1,000 × 2) µ$ × 2.063; the exact 2.0625 gives 2,066,625, below which nothing may bill.
  expect(row.cost).toBe(2_067_126)
  expect(row.cost).toBeGreaterThanOrEqual(2_066_625)
})
