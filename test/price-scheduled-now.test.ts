/**
 * A scheduled price whose effective_from is a few milliseconds ahead passes the body's check (effective_from ≥
 * now), and may reach the price book after that moment has passed: it takes effect now. Before, the price book
 * refused it (InvalidPrice) and the operator got a 500 internal error in ~1 of 100 such requests; and the route's
 * "now" and the price book's were two readings of the clock, a millisecond apart now and then (seen under
 * libfaketime: `faketime '2027-03-01 12:00:00' bun test test/price-scheduled-now.test.ts` failed 1 run in 3).
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
  await gw.stop()
  await mock.stop()
})

test('a price scheduled a few milliseconds ahead is a 201, or a 400 naming effective_from if that time passed before it arrived; never a 500', async () => {
  const statuses = new Map<number, number>()
  for (let i = 0; i < 300; i++) {
    const res = await gw.admin('POST', '/v1/pricing', {
      model: 'mock:gpt-mock', input_per_million: 1, output_per_million: 2,
      effective_from: new Date(Date.now() + (i % 3)).toISOString(),
    })
    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1)
    if (res.status === 400) expect(res.body.error.message).toContain('effective_from')
  }
  expect([...statuses.keys()].filter((s) => s !== 201 && s !== 400)).toEqual([])
  expect(statuses.get(201)).toBeGreaterThan(0)
})
