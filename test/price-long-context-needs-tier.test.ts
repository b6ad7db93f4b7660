/**
 * `long_context_above_tokens` "needs service_tiers.long_context" (the field's description in /docs): it names the
 * prompt size past which the long-context multiplier applies, and a row with the threshold and no multiplier is
 * refused with a 400 naming the field, so an operator who forgot the multiplier learns it at once rather than having
 * every long prompt billed at base rates (or refused) with no word why.
 * Kills: pricing.ts createPrice's `.refine((p) => !lacksLongContextTier(p), …)` dropped.
 */
import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { withMockGateway } from './support/mock-gateway'

let gw: TestGateway
withMockGateway({}, (started) => ({ gw } = started))

test('long_context_above_tokens without service_tiers.long_context → 400 naming it, nothing written', async () => {
  const r = await gw.admin('POST', '/v1/pricing', { model: 'mock:long-ctx', input_per_million: 1, output_per_million: 2, long_context_above_tokens: 271999 })
  expect({ status: r.status, names: String(r.body?.error?.message ?? '').includes('long_context_above_tokens') }).toEqual({ status: 400, names: true })
  expect((await gw.admin('GET', '/v1/pricing/mock:long-ctx')).status).toBe(404)
  const ok = await gw.admin('POST', '/v1/pricing', {
    model: 'mock:long-ctx', input_per_million: 1, output_per_million: 2, long_context_above_tokens: 271999, service_tiers: { long_context: 2 },
  })
  expect(ok.status).toBe(201)
})
