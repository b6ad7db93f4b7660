/**
 * GET /v1/models lists a key's allow-listed bare ids (src/routes/models.ts `modelsFor`). That loop did not yield to
 * other requests, and each id's `servable` ran `mayCall`, which scanned the whole allow-list again (`.some`, with a
 * `colonSpelling` regex per entry): a key allowed its maximum of 1,000 names (~200 characters each) made each of its
 * bodiless GET /v1/models do ~500,000 regex scans in one turn (~25 ms; four at once held the thread ~100 ms).
 * Issue 15: bounded at 50 ms, as models-list-many-prices-request-thread.alone.test.ts bounds the same route.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { spawnGateway, type SpawnedGateway } from './support/gateway'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { quietThread, threadRanDuring, worstHoldDuring } from './support/request-thread-hold'

const HELD_MS = 50
const allowed = Array.from({ length: 1000 }, (_, i) => `x/${'m'.repeat(190)}-${String(i).padStart(5, '0')}`)
let mock: MockProvider
let gw: SpawnedGateway
let secret: string

beforeAll(async () => {
  mock = startMockProvider()
  gw = await spawnGateway({ mock, config: { default_providers: { openai: 'mock' } } })
  ;({ secret } = await gw.userWithKey({ id: 'app', max_budget: 5 }, { allowed_models: allowed }))
  await quietThread(gw.proc.pid)
}, 60_000)

afterAll(async () => {
  await gw?.stop()
  mock?.stop()
})

test('GET /v1/models for a key allowed 1,000 bare model names does not hold the request thread', async () => {
  const list = () => fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } }).then(async (r) => ({ status: r.status, body: await r.text() }))
  // Warm: the first call's own one-off costs (prices read, JIT) are not the point.
  expect((await list()).status).toBe(200)
  await quietThread(gw.proc.pid)
  const one = await threadRanDuring(gw.proc.pid, list)
  console.log(`one GET /v1/models ran the request thread ${one.toFixed(0)} ms`)
  await quietThread(gw.proc.pid)
  const worst = await worstHoldDuring(gw.url, Promise.all([list(), list(), list(), list()]), gw.proc.pid)
  console.log(`1,000 allow-listed bare ids, GET /v1/models x4: ${worst}`)
  expect(worst.held).toBeLessThan(HELD_MS)
}, 60_000)
