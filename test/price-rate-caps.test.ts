/**
 * POST /v1/pricing caps a token rate at $1,000,000 per million tokens and a per-request or per-use price at $10,000,
 * as /docs states (`maximum`). The cap is what refuses a rate typed in micro-USD instead of USD ($3/M typed as
 * 3000000): taken, every request to the model would be held and billed a million times its price, and refused 402 for
 * budgets that cover it. Nothing pins the caps: pricing.test.ts tries negative and fractional-micro amounts only.
 * Kills: pricing.ts `wholeMicrosPerMillion.max(1e6)` → `wholeMicrosPerMillion`; `wholeMicrosPerRequest.max(1e4)`
 * dropped on per_request; `usdPerUse = wholeMicrosPerRequest.max(1e4)` → no max (server_tools).
 */
import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { withMockGateway } from './support/mock-gateway'

let gw: TestGateway
withMockGateway({}, (started) => ({ gw } = started))

const post = async (fields: Record<string, unknown>) => {
  const r = await gw.admin('POST', '/v1/pricing', { model: 'mock:capped', input_per_million: 1, output_per_million: 2, ...fields })
  return r.status === 400 ? `400 ${Object.keys(fields).every((f) => String(r.body?.error?.message).includes(f)) ? 'naming it' : r.body?.error?.message}` : String(r.status)
}

test('a token rate over $1,000,000 per million and a per-request or per-use price over $10,000 are refused, naming the field', async () => {
  expect({
    input: await post({ input_per_million: 3_000_000 }),
    output: await post({ output_per_million: 1_000_001 }),
    cached: await post({ cached_input_per_million: 1_500_000 }),
    per_request: await post({ per_request: 10_001 }),
    server_tools: await post({ server_tools: { web_search: 10_001 } }),
  }).toEqual({ input: '400 naming it', output: '400 naming it', cached: '400 naming it', per_request: '400 naming it', server_tools: '400 naming it' })
  // The caps themselves are prices one may set.
  expect(await post({ input_per_million: 1_000_000, per_request: 10_000 })).toBe('201')
})

test('/docs states both caps on POST /v1/pricing', async () => {
  const doc: any = await (await fetch(`${gw.url}/docs/json`)).json()
  const schema = doc.paths['/v1/pricing'].post.requestBody.content['application/json'].schema
  const props = schema.properties ?? doc.components?.schemas?.[schema.$ref?.split('/').pop()]?.properties
  const max = (f: string) => {
    const s = props[f]
    return s.maximum ?? s.anyOf?.find((a: any) => a.maximum !== undefined)?.maximum
  }
  expect({ input: max('input_per_million'), output: max('output_per_million'), per_request: max('per_request') }).toEqual({ input: 1e6, output: 1e6, per_request: 1e4 })
})
