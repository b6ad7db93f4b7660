/**
 * README (pricing routes): "The model may be named as provider:model, provider/model or by alias. A `/` in it
 * may be sent percent-encoded (%2F) or as is." Sent as is, the path goes to the `/v1/pricing/*` route, whose
 * value Elysia does not percent-decode: it is decoded by the route, so a character a client must encode in a
 * path (a space, a non-ASCII letter) names the same model as in the other spellings, and GET finds its price and
 * DELETE unprices it. A malformed escape there is a 400, not a lookup of the text as written.
 */
import { beforeAll, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { withMockGateway } from './support/mock-gateway'

let gw: TestGateway
withMockGateway({}, (s) => ({ gw } = s))
beforeAll(async () => {
  const r = await gw.admin('POST', '/v1/pricing', { model: 'mock:modèle 2', input_per_million: 1, output_per_million: 2 })
  if (r.status !== 201) throw new Error(`price: ${r.status} ${JSON.stringify(r.body)}`)
})

test('GET /v1/pricing/provider/model with a raw slash finds a model whose id a client must percent-encode', async () => {
  // The colon and the %2F spellings find it...
  expect((await gw.admin('GET', `/v1/pricing/${encodeURIComponent('mock:modèle 2')}`)).status).toBe(200)
  expect((await gw.admin('GET', `/v1/pricing/${encodeURIComponent('mock/modèle 2')}`)).status).toBe(200)
  // ...and so does the raw slash (fetch sends `mock/mod%C3%A8le%202`).
  const raw = await gw.admin('GET', '/v1/pricing/mock/modèle 2')
  expect([raw.status, raw.body?.model]).toEqual([200, 'mock:modèle 2'])
})

test('a malformed escape after a raw slash is a 400 on GET and DELETE, and unprices nothing', async () => {
  for (const method of ['GET', 'DELETE'] as const) {
    const r = await gw.admin(method, '/v1/pricing/mock/mod%C3le%202')
    expect([method, r.status, r.body?.error?.code]).toEqual([method, 400, 'invalid_percent_encoding'])
  }
  expect((await gw.admin('GET', `/v1/pricing/${encodeURIComponent('mock:modèle 2')}`)).status).toBe(200)
})

test('DELETE /v1/pricing/provider/model with a raw slash unprices it', async () => {
  const del = await gw.admin('DELETE', '/v1/pricing/mock/modèle 2')
  expect([del.status, del.body?.deleted]).toEqual([200, true])
  expect((await gw.admin('GET', `/v1/pricing/${encodeURIComponent('mock:modèle 2')}`)).status).toBe(404)
})
