/**
 * Every admin list pages by `cursor` or by `offset` (README "Admin lists"); given a cursor, the page starts right
 * after it and an offset is not used (users, keys, usage, the request log and the alerts all read it so). A client
 * that keeps its `offset` in the query while following `next_cursor` (a script that set offset=N for its first page)
 * must not have rows skipped on every later page. `GET /v1/pricing/history` — what usage rows' `price_id` are checked
 * against — must walk the same way.
 * Kills: pricing.ts history `offset: beforeId === undefined ? query.offset : 0` → `offset: query.offset`.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { startMockProvider, type MockProvider } from './support/mock-provider'

let mock: MockProvider
let gw: TestGateway
const ids: number[] = []
beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock })
  for (let i = 1; i <= 5; i++) {
    const r = await gw.admin('POST', '/v1/pricing', { model: 'mock:walked', input_per_million: i, output_per_million: i })
    expect(r.status).toBe(201)
    ids.unshift(r.body.id)
  }
})
afterAll(async () => {
  await gw?.stop()
  await mock?.stop()
})

const page = async (q: string) => (await gw.admin('GET', `/v1/pricing/history?model=mock:walked&${q}`)).body

test('a walk by cursor lists every row once, whatever offset the query also carries', async () => {
  const first = await page('limit=2')
  expect(first.data.map((p: any) => p.id)).toEqual(ids.slice(0, 2))
  const seen: number[] = first.data.map((p: any) => p.id)
  for (let cursor = first.next_cursor; cursor !== null; ) {
    const next = await page(`limit=2&offset=2&cursor=${cursor}`)
    seen.push(...next.data.map((p: any) => p.id))
    cursor = next.next_cursor
  }
  expect(seen).toEqual(ids)
})

test('the page after a cursor is the same with or without an offset beside it', async () => {
  const first = await page('limit=1')
  const plain = await page(`limit=2&cursor=${first.next_cursor}`)
  const withOffset = await page(`limit=2&offset=1&cursor=${first.next_cursor}`)
  expect(withOffset.data.map((p: any) => p.id)).toEqual(plain.data.map((p: any) => p.id))
})
