/**
 * RFC 9110 §11.1: an authentication scheme is matched case-insensitively. Clients and proxies send
 * `bearer <key>` or `BEARER <key>` (hand-written curl, some HTTP libraries); src/plugins/auth.ts credentialOf
 * takes them as the Bearer key they are. Refusing them would break those clients with a 401.
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

test('the Bearer scheme in any case authenticates the key', async () => {
  const { secret } = await gw.userWithKey({ id: 'bearer-case' })
  const statuses: Record<string, number> = {}
  for (const scheme of ['Bearer', 'bearer', 'BEARER']) {
    const res = await fetch(`${gw.url}/v1/models`, { headers: { authorization: `${scheme} ${secret}` } })
    await res.arrayBuffer()
    statuses[scheme] = res.status
  }
  expect(statuses).toEqual({ Bearer: 200, bearer: 200, BEARER: 200 })
})
