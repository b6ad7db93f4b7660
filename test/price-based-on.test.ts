/**
 * A price change made from the row in force (`tollgate prices set`, the console's price form, `prices catalog --apply`)
 * names that row (`based_on`): if another change of the model came between the read and the write, the write would
 * carry the older rates back for good, so it is refused with 409 price_changed and nothing is written. Runs on both
 * stores (test/engines/stores.engine.ts); the race across replicas is in test/engines/prices-set-across-replicas.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { runTollgate } from './support/cli'
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

const price = (model: string, extra: Record<string, unknown> = {}) =>
  gw.admin('POST', '/v1/pricing', { model, input_per_million: 1, output_per_million: 2, ...extra })
const rowsOf = async (model: string) => (await gw.admin('GET', `/v1/pricing/history?model=${model}`)).body.data.length

describe('based_on: a price change made from the row in force', () => {
  test('is written while that row is still in force, and refused 409 price_changed, writing nothing, once another is', async () => {
    const first = await price('mock:based')
    const second = await price('mock:based', { input_per_million: 3, based_on: first.body.id })
    expect(second.status).toBe(201)
    const stale = await price('mock:based', { output_per_million: 5, based_on: first.body.id })
    expect({ status: stale.status, code: stale.body.error?.code, retry: stale.headers.get('x-should-retry') }).toEqual({ status: 409, code: 'price_changed', retry: null })
    expect(await rowsOf('mock:based')).toBe(2)
    expect((await gw.admin('GET', '/v1/pricing/mock:based')).body).toMatchObject({ id: second.body.id, input_per_million: 3, output_per_million: 2 })
  })

  test('null: the model had no price in force, which a price written meanwhile, or a deletion undone, changes', async () => {
    expect((await price('mock:based-new', { based_on: null })).status).toBe(201)
    expect((await price('mock:based-new', { based_on: null })).status).toBe(409)
    const row = (await gw.admin('GET', '/v1/pricing/mock:based-new')).body
    expect((await gw.admin('DELETE', '/v1/pricing/mock:based-new')).status).toBe(200)
    // Deleted since it was read: the change would price the model again from rates nobody meant to keep.
    expect((await price('mock:based-new', { based_on: row.id })).status).toBe(409)
    expect((await price('mock:based-new', { based_on: null })).status).toBe(201)
  })

  test('a row scheduled for later is not in force: a change based on the row in force now is written', async () => {
    const now = await price('mock:based-scheduled')
    const later = new Date(Date.now() + 3_600_000).toISOString()
    expect((await price('mock:based-scheduled', { input_per_million: 9, effective_from: later })).status).toBe(201)
    expect((await price('mock:based-scheduled', { input_per_million: 2, based_on: now.body.id })).status).toBe(201)
  })

  test('tollgate prices set sends the row it read, and says why it was refused', async () => {
    const seen: any[] = []
    // The admin API as the CLI sees it, with another change landing between its read and its write.
    const api = Bun.serve({
      port: 0,
      hostname: '127.0.0.1',
      fetch: async (req) => {
        const { pathname } = new URL(req.url)
        if (req.method === 'GET' && pathname === '/v1/pricing/mock%3Acli') return Response.json({ id: 7, model: 'mock:cli', input_per_million: 1, output_per_million: 2 })
        if (req.method === 'GET') return Response.json({ error: { message: 'No price in force.', type: 'invalid_request_error', code: 'price_not_found' } }, { status: 404 })
        seen.push(await req.json())
        return Response.json({ error: { message: 'The price in force for mock:cli changed since row 7 was read.', type: 'invalid_request_error', code: 'price_changed' } }, { status: 409 })
      },
    })
    try {
      const refused = await runTollgate(`http://127.0.0.1:${api.port}`, ['prices', 'set', 'mock:cli', '--output', '3'])
      await runTollgate(`http://127.0.0.1:${api.port}`, ['prices', 'set', 'mock:cli-new', '--input', '1', '--output', '3'])
      expect({ code: refused.code, said: refused.stderr.includes('changed since row 7') }).toEqual({ code: 1, said: true })
      expect(seen.map((body) => body.based_on)).toEqual([7, null])
    } finally {
      api.stop(true)
    }
  })
})
