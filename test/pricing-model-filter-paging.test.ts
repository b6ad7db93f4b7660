/**
 * `GET /v1/pricing?model=` is a page of the list like any other (README: "`?model=` narrows it to that model's price
 * in force, a page of one row"), so `offset` and `cursor` position it as they do the unfiltered list: an offset past
 * the one row, or a cursor at or past the model's name, is an empty page. A filter path that ignores them answers the
 * same row on every page: a client walking pages (offset += limit, or following a cursor) never sees the end, or
 * counts the row twice.
 * Kills: pricing.ts pricedModel `&& !offset` dropped (offset ignored); `(cursor === undefined || price.model > cursor)`
 * dropped (cursor ignored).
 */
import { beforeAll, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { withMockGateway } from './support/mock-gateway'

let gw: TestGateway
withMockGateway({}, (started) => ({ gw } = started))
beforeAll(async () => {
  expect((await gw.admin('POST', '/v1/pricing', { model: 'mock:paged', input_per_million: 1, output_per_million: 2 })).status).toBe(201)
})

const models = async (query: string) => {
  const r = await gw.admin('GET', `/v1/pricing?${query}`)
  return { status: r.status, models: (r.body?.data ?? []).map((p: any) => p.model) }
}

test('the unfiltered list and the filter agree on offset: the model once at its position, never past it', async () => {
  const all = await models('limit=1000')
  const at = all.models.indexOf('mock:paged')
  expect(at).toBeGreaterThanOrEqual(0)
  expect(await models(`model=mock:paged&offset=0`)).toEqual({ status: 200, models: ['mock:paged'] })
  // The filtered list holds one row: offset 1 is past it, as offset `all.models.length` is past the unfiltered list.
  expect(await models(`model=mock:paged&offset=1`)).toEqual({ status: 200, models: [] })
  expect(await models(`model=mock:paged&offset=5`)).toEqual({ status: 200, models: [] })
})

test('a cursor at or past the model (the unfiltered walk hands out model names) leaves it off the filtered page', async () => {
  expect(await models(`model=mock:paged&cursor=${encodeURIComponent('mock:paged')}`)).toEqual({ status: 200, models: [] })
  expect(await models(`model=mock:paged&cursor=${encodeURIComponent('mock:zzz')}`)).toEqual({ status: 200, models: [] })
  // A cursor before it does list it, as the unfiltered walk would on the page after that cursor.
  expect(await models(`model=mock:paged&cursor=${encodeURIComponent('mock:a')}`)).toEqual({ status: 200, models: ['mock:paged'] })
})

test('a cursor beside an offset positions the page alone, as on every other list', async () => {
  expect(await models(`model=mock:paged&cursor=${encodeURIComponent('mock:a')}&offset=1`)).toEqual({ status: 200, models: ['mock:paged'] })
  expect(await models(`model=mock:paged&cursor=${encodeURIComponent('mock:zzz')}&offset=0`)).toEqual({ status: 200, models: [] })
})
