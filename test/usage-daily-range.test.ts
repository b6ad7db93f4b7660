/**
 * GET /v1/usage/daily builds one point per UTC day on the request thread. `days` is bounded (≤ 366), and so is
 * an explicit since/until range: the console's Usage page passes its Since/Until fields straight through, and a
 * mistyped year (0001) once made the gateway build 3.6 million days (a 47 MB answer) while every other request,
 * inference included, waited. Such a range is refused with a 400; a year is served.
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

test('a since/until range of centuries on /v1/usage/daily is bounded, and does not stall the gateway', async () => {
  const health = (async () => {
    await Bun.sleep(30)
    const start = performance.now()
    const res = await fetch(`${gw.url}/health`)
    await res.arrayBuffer()
    return performance.now() - start
  })()
  const res = await fetch(`${gw.url}/v1/usage/daily?since=0001-01-01T00:00:00Z&until=9999-12-31T00:00:00Z`, { headers: gw.master })
  const text = await res.text()
  const healthMs = await health
  expect(res.status).toBe(400)
  expect(JSON.parse(text).error.message).toContain('366')
  // A health check sent while it runs is answered at once, not after the whole range was built.
  expect(healthMs).toBeLessThan(1000)
}, 60_000)

test('a range of exactly 366 UTC days is served, one more day is refused', async () => {
  const daily = (since: string, until: string) => fetch(`${gw.url}/v1/usage/daily?since=${since}&until=${until}`, { headers: gw.master })
  const year = await daily('2024-01-01T00:00:00Z', '2025-01-01T00:00:00Z')
  expect(year.status).toBe(200)
  expect(((await year.json()) as { days: string[] }).days.length).toBe(366)
  expect((await daily('2024-01-01T00:00:00Z', '2025-01-01T00:00:01Z')).status).toBe(400)
})
