/**
 * DELETE /v1/pricing/{model} unprices a model: it deletes the row in force and cancels the rows scheduled
 * for it (unpriced means unpriced), and says what it did. A model whose only row is scheduled (POST with a
 * later effective_from, nothing in force yet) gets 200 with `deleted: false` and `cancelled_scheduled`, and
 * the scheduled price never takes effect; 404 only when there was neither, since then nothing changed.
 * Runs on Postgres too, through test/engines/stores.engine.ts.
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

test('DELETE of a model priced only from a later time: a 404 ("nothing in force") leaves its schedule in place', async () => {
  const at = new Date(Date.now() + 700).toISOString()
  const scheduled = await gw.admin('POST', '/v1/pricing', { model: 'mock:gpt-later', input_per_million: 1, output_per_million: 1, effective_from: at })
  expect(scheduled.status).toBe(201)

  const deleted = await gw.admin('DELETE', '/v1/pricing/mock:gpt-later')
  // The row the DELETE answered about, as history shows it afterwards.
  const row = (await gw.admin('GET', `/v1/pricing/history/${scheduled.body.id}`)).body
  await Bun.sleep(Date.parse(at) - Date.now() + 100)
  const inForce = await gw.admin('GET', '/v1/pricing/mock:gpt-later')

  if (deleted.status === 404) {
    // "No price in force": nothing was changed, so the scheduled row still takes effect at its time.
    expect({ deleted_at: row.deleted_at, after: inForce.status }).toEqual({ deleted_at: null, after: 200 })
  } else {
    // Or the DELETE cancels the schedule and says so.
    expect(deleted.status).toBe(200)
    expect(deleted.body).toEqual({ model: 'mock:gpt-later', deleted: false, cancelled_scheduled: 1 })
    expect(row.deleted_at).not.toBeNull()
    expect(inForce.status).toBe(404)
  }
})

test('DELETE says what it did: the row in force deleted and the schedule cancelled, then 404 when nothing is left', async () => {
  const model = 'mock:gpt-both'
  expect((await gw.admin('POST', '/v1/pricing', { model, input_per_million: 1, output_per_million: 1 })).status).toBe(201)
  const at = new Date(Date.now() + 60_000).toISOString()
  expect((await gw.admin('POST', '/v1/pricing', { model, input_per_million: 2, output_per_million: 2, effective_from: at })).status).toBe(201)

  const deleted = await gw.admin('DELETE', `/v1/pricing/${model}`)
  expect(deleted.status).toBe(200)
  expect(deleted.body).toMatchObject({ model, input_per_million: 1, deleted: true, cancelled_scheduled: 1 })

  const again = await gw.admin('DELETE', `/v1/pricing/${model}`)
  expect(again.status).toBe(404)
  expect(again.body.error.message).toContain('No price in force or scheduled')
})

test('the answer is documented in the OpenAPI document', async () => {
  const doc = (await (await fetch(`${gw.url}/docs/json`)).json()) as any
  const answer = doc.paths['/v1/pricing/{model}'].delete.responses['200'].content['application/json'].schema
  expect(Object.keys(answer.properties)).toEqual(expect.arrayContaining(['deleted', 'cancelled_scheduled']))
})
