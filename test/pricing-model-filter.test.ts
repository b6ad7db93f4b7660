/**
 * `GET /v1/pricing?model=`: the price in force for one model as a page, empty for a model with no price, so a
 * client (the console's price form) can look a model up without the 404 of `GET /v1/pricing/{model}`, which a
 * browser logs as an error (red team kk). The 404 of the path form stays as documented.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { startMockProvider, type MockProvider } from './support/mock-provider'

let mock: MockProvider
let gw: TestGateway
beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock })
})
afterAll(async () => {
  await gw?.stop()
  await mock?.stop()
})

test('?model= gives the price in force for that model, under either spelling, as a page of one row', async () => {
  expect((await gw.admin('POST', '/v1/pricing', { model: 'mock:filtered', input_per_million: 1.5, output_per_million: 6 })).status).toBe(201)
  const one = await gw.admin('GET', `/v1/pricing/${encodeURIComponent('mock:filtered')}`)
  expect(one.status).toBe(200)
  for (const spelt of ['mock:filtered', 'mock/filtered']) {
    const page = await gw.admin('GET', `/v1/pricing?model=${encodeURIComponent(spelt)}`)
    expect({ status: page.status, data: page.body.data, next: page.body.next_cursor }).toEqual({ status: 200, data: [one.body], next: null })
  }
})

test('?model= of a model with no price is an empty page, while GET /v1/pricing/{model} stays 404', async () => {
  const page = await gw.admin('GET', `/v1/pricing?model=${encodeURIComponent('mock:never-priced')}`)
  expect({ status: page.status, data: page.body.data }).toEqual({ status: 200, data: [] })
  const missing = await gw.admin('GET', `/v1/pricing/${encodeURIComponent('mock:never-priced')}`)
  expect({ status: missing.status, code: missing.body.error?.code }).toEqual({ status: 404, code: 'price_not_found' })
})

test('an empty ?model= is refused, not taken as no filter', async () => {
  expect((await gw.admin('GET', '/v1/pricing?model=')).status).toBe(400)
})
