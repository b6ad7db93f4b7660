/**
 * SPEC §8: an api_request_log row per /v1 request with its key id; only refused unauthenticated requests are
 * folded into per-source counts. A console sign-in with the master key is neither: it has a row of its own with
 * the master key's id, as a virtual key's sign-in has with its own (it was once folded with every other master
 * sign-in from that address in the minute, key id null, like an anonymous refusal).
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { MASTER_KEY, startTestGateway, type TestGateway } from './support/gateway'
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

const signIn = (key: string) =>
  fetch(`${gw.url}/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json', origin: gw.url }, body: JSON.stringify({ key }) })

test('each master-key sign-in to the console has its own request-log row, with the master key id', async () => {
  // What a master-key request through a header records, for comparison.
  expect((await gw.admin('GET', '/v1/users')).status).toBe(200)
  for (let i = 0; i < 2; i++) expect((await signIn(MASTER_KEY)).status).toBe(200)
  await gw.settled()
  const viaHeader = (await gw.admin('GET', '/v1/audit?route=/v1/users&method=GET')).body.data
  expect(viaHeader[0].key_id).toBe('master')
  const rows = (await gw.admin('GET', '/v1/audit?route=/v1/session&method=POST&status=200')).body.data
  expect(rows.map((r: any) => ({ key_id: r.key_id, count: r.count }))).toEqual([
    { key_id: 'master', count: 1 },
    { key_id: 'master', count: 1 },
  ])
})
