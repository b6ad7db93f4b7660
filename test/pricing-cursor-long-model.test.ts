/**
 * Every next_cursor a list returns is accepted back. POST /v1/pricing takes a model name of up to 256
 * characters, and GET /v1/pricing pages by model name (its next_cursor is the last model shown): a page that
 * ends on a model of 201–256 characters handed out a cursor the list then refused (the cursor was capped at
 * 200), so the console's "Next", the CLI's `prices list --all` and any SDK pager stopped there.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'

let mock: MockProvider
let gw: TestGateway
beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock })
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})

test('GET /v1/pricing pages past a model whose name is longer than 200 characters (POST accepts up to 256)', async () => {
  const long = `mock:${'m'.repeat(240)}`
  for (const model of [`${long}-a`, `${long}-b`]) {
    expect((await gw.admin('POST', '/v1/pricing', { model, input_per_million: 1, output_per_million: 1 })).status).toBe(201)
  }
  const seen: string[] = []
  let cursor: string | null = null
  const statuses: number[] = []
  for (let page = 0; page < 10; page++) {
    const r: { status: number; body: any } = await gw.admin('GET', `/v1/pricing?limit=1${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`)
    statuses.push(r.status)
    if (r.status !== 200) break
    seen.push(...r.body.data.map((p: any) => p.model))
    cursor = r.body.next_cursor
    if (cursor === null) break
  }
  // Every page answered, and every priced model listed (the seeded mock:gpt-mock, then the two long ones).
  expect(statuses).toEqual([200, 200, 200])
  expect(seen).toEqual(['mock:gpt-mock', `${long}-a`, `${long}-b`])
})
