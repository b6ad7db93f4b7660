/**
 * Every next_cursor a list returns is accepted back (README: `cursor` = the previous page's `next_cursor`). The
 * pricing list's cursor is a model name, and POST /v1/pricing takes one of up to 256 characters: a page ending on a
 * model of exactly 256 must hand out a cursor the list takes back, or every pager (console "Next", `prices list
 * --all`) stops there. pricing-cursor-long-model.test.ts uses 247 characters, which leaves the cap's last bytes unpinned.
 * Kills: pagination.ts `MAX_CURSOR = 256` → 255.
 */
import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { withMockGateway } from './support/mock-gateway'

let gw: TestGateway
withMockGateway({}, (started) => ({ gw } = started))

test('a walk by cursor passes a model whose name is the longest a price may have (256 characters)', async () => {
  const longest = `mock:${'m'.repeat(256 - 'mock:'.length)}`
  expect(longest.length).toBe(256)
  expect((await gw.admin('POST', '/v1/pricing', { model: longest, input_per_million: 1, output_per_million: 1 })).status).toBe(201)
  expect((await gw.admin('POST', '/v1/pricing', { model: 'mock:zz-after', input_per_million: 1, output_per_million: 1 })).status).toBe(201)
  const seen: string[] = []
  const statuses: number[] = []
  let cursor: string | null = null
  for (let page = 0; page < 10; page++) {
    const r: { status: number; body: any } = await gw.admin('GET', `/v1/pricing?limit=1${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`)
    statuses.push(r.status)
    if (r.status !== 200) break
    seen.push(...r.body.data.map((p: any) => p.model))
    cursor = r.body.next_cursor
    if (cursor === null) break
  }
  expect({ statuses, seen }).toEqual({ statuses: [200, 200, 200], seen: ['mock:gpt-mock', longest, 'mock:zz-after'] })
})
