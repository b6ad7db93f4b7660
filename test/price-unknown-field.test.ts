/**
 * POST /v1/pricing refuses a field it does not know, as creating a user or a key does (README: a misspelt field must not
 * quietly change what is created). A price is where a misspelling costs most: `effective_form` for `effective_from`
 * would put a scheduled change in force at once (every request from now billed at next month's rates, or a cut
 * applied early), and `per_requst` would leave a moderation or audio model at $0 a call.
 * Kills: pricing.ts createPrice's `.strict()` dropped.
 */
import { beforeAll, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { withMockGateway } from './support/mock-gateway'

let gw: TestGateway
withMockGateway({}, (started) => ({ gw } = started))
beforeAll(async () => {
  expect((await gw.admin('POST', '/v1/pricing', { model: 'mock:strict-price', input_per_million: 1, output_per_million: 2 })).status).toBe(201)
})

test('a misspelt effective_from → 400 naming it; the price in force is unchanged', async () => {
  const later = new Date(Date.now() + 30 * 86_400_000).toISOString()
  const r = await gw.admin('POST', '/v1/pricing', { model: 'mock:strict-price', input_per_million: 9, output_per_million: 9, effective_form: later })
  expect({ status: r.status, names: String(r.body?.error?.message ?? '').includes('effective_form') }).toEqual({ status: 400, names: true })
  const now = (await gw.admin('GET', '/v1/pricing/mock:strict-price')).body
  expect({ input: now.input_per_million, output: now.output_per_million }).toEqual({ input: 1, output: 2 })
})

test('a misspelt per_request → 400 naming it, nothing written', async () => {
  const r = await gw.admin('POST', '/v1/pricing', { model: 'mock:strict-moderation', input_per_million: 0, output_per_million: 0, per_requst: 0.01 })
  expect({ status: r.status, names: String(r.body?.error?.message ?? '').includes('per_requst') }).toEqual({ status: 400, names: true })
  expect((await gw.admin('GET', '/v1/pricing/mock:strict-moderation')).status).toBe(404)
})
