/**
 * README "Admin lists": "A whole number (`limit`, `offset`, `days`, `top`, the request log's `status`, a `price_id` in
 * a path) is decimal digits only: an empty or blank one, `0x10` or `1e3` is refused with a 400 naming it, not read as
 * 0, 16 or 1000"; and a `cursor` is refused unless a page could have returned it (an id-keyed list's are digits). The
 * existing tests try `abc`, `-1` and the empty cursor, which `Number()` refuses too; the spellings below are the ones
 * `Number()` reads as numbers, so only the digits-only rule stops them.
 * Kills: strict-query.ts decimalInteger's `/^\d+$/` test dropped (`Number(v)` for any string); pagination.ts idCursor's
 * `/^\d+$/` test dropped (`Number(cursor)`).
 */
import { beforeAll, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { withMockGateway } from './support/mock-gateway'

let gw: TestGateway
withMockGateway({}, (started) => ({ gw } = started))
beforeAll(async () => {
  for (let i = 1; i <= 3; i++) await gw.admin('POST', '/v1/pricing', { model: 'mock:digits', input_per_million: i, output_per_million: i })
})

const statusOf = async (path: string) => `${path} → ${(await gw.admin('GET', path)).status}`

test('limit, offset, status and a price_id spelt as hex, exponent or blank are refused with a 400', async () => {
  const paths = [
    '/v1/users?limit=0x10',
    '/v1/users?limit=1e2',
    '/v1/keys?offset=1e3',
    '/v1/keys?offset=%20',
    '/v1/pricing?offset=0x1',
    '/v1/audit?status=4e2',
    '/v1/audit?status=0x190',
    '/v1/pricing/history/0x1',
    '/v1/pricing/history/1e0',
  ]
  const got = []
  for (const p of paths) got.push(await statusOf(p))
  expect(got).toEqual(paths.map((p) => `${p} → 400`))
})

test('an id-keyed cursor spelt as hex, exponent or blank is refused, not read as a position', async () => {
  const ids: number[] = (await gw.admin('GET', '/v1/pricing/history?model=mock:digits')).body.data.map((p: any) => p.id)
  const top = Math.max(...ids)
  const paths = [
    `/v1/pricing/history?cursor=0x${top.toString(16)}`,
    `/v1/pricing/history?cursor=${top}e0`,
    '/v1/pricing/history?cursor=%20',
    '/v1/audit?cursor=1e9',
    '/v1/audit?cursor=0x10',
  ]
  const got = []
  for (const p of paths) got.push(await statusOf(p))
  expect(got).toEqual(paths.map((p) => `${p} → 400`))
})
