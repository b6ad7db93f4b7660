/**
 * Unpricing a model cancels its scheduled rows by marking them deleted before their start. A row cancelled
 * so never applied: when its time comes it must not hide the price written after the unpricing (a 404 and
 * 402s from then on), end that price in the history, or be the row a later unpricing finds.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'

let mock: MockProvider
let gw: TestGateway

beforeAll(async () => {
  mock = startMockProvider()
  // No price cache: what is read is what the table says.
  gw = await startTestGateway({ mock, config: { cache_ttl_ms: 0 } })
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})

test('a model priced again after being unpriced stays priced past the time of its cancelled schedule', async () => {
  const { secret } = await gw.userWithKey({ id: 'repriced' })
  expect((await gw.admin('POST', '/v1/pricing', { model: 'mock:gpt-re', input_per_million: 1, output_per_million: 1 })).status).toBe(201)
  const at = Date.now() + 600
  expect((await gw.admin('POST', '/v1/pricing', { model: 'mock:gpt-re', input_per_million: 2, output_per_million: 2, effective_from: new Date(at).toISOString() })).status).toBe(201)
  // Unpriced (the scheduled change is cancelled with it), then priced again at once.
  expect((await gw.admin('DELETE', '/v1/pricing/mock:gpt-re')).status).toBe(200)
  const again = await gw.admin('POST', '/v1/pricing', { model: 'mock:gpt-re', input_per_million: 3, output_per_million: 3 })
  expect(again.status).toBe(201)
  expect((await gw.admin('GET', '/v1/pricing/mock:gpt-re')).body).toMatchObject({ id: again.body.id, input_per_million: 3 })

  await Bun.sleep(at - Date.now() + 100)
  // The row the operator wrote last is still the one in force, and requests are served at it.
  const inForce = await gw.admin('GET', '/v1/pricing/mock:gpt-re')
  expect([inForce.status, inForce.body.id]).toEqual([200, again.body.id])
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'mock:gpt-re', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }),
  })
  await res.text()
  expect(res.status).toBe(200)

  // The history has the new row still in force, and unpricing the model now unprices it.
  const history = (await gw.admin('GET', '/v1/pricing/history?model=mock:gpt-re')).body.data
  expect(history.find((h: any) => h.id === again.body.id)).toMatchObject({ effective_until: null, deleted_at: null })
  expect((await gw.admin('DELETE', '/v1/pricing/mock:gpt-re')).status).toBe(200)
  expect((await gw.admin('GET', '/v1/pricing/mock:gpt-re')).status).toBe(404)
})
