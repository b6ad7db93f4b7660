import { afterAll, beforeAll, expect, test } from 'bun:test'
import { spawnGateway, type SpawnedGateway } from './support/gateway'
import { startMockProvider, type MockProvider } from './support/mock-provider'

/**
 * Mutation guard: README "Observability": a healthy /health probe is logged at debug only;
 * a failing one, like everything else, at info. A refactor that keys the level on the path alone hides every
 * failed call to /health from an operator running at info.
 */
let mock: MockProvider
let proc: SpawnedGateway

beforeAll(async () => {
  mock = startMockProvider()
  proc = await spawnGateway({ mock, env: { TOLLGATE_LOG_LEVEL: 'info' } })
})
afterAll(async () => {
  await proc.stop()
  await mock.stop()
})

const requestLines = () =>
  proc
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l))
    .filter((l) => l.msg === 'request')

test('a failed /health call is logged at info, a healthy probe is not', async () => {
  expect((await fetch(`${proc.url}/health`)).status).toBe(200)
  const failed = await fetch(`${proc.url}/health`, { method: 'POST' })
  expect(failed.status).toBeGreaterThanOrEqual(400)
  // A later request, logged at info, marks that the earlier lines were flushed (one write per turn, in order).
  expect((await fetch(`${proc.url}/v1/nothing-here`)).status).toBe(401)
  const marker = () => requestLines().find((l) => l.route === '/v1/nothing-here')
  for (const deadline = Date.now() + 5_000; !marker() && Date.now() < deadline; ) await Bun.sleep(10)
  expect(marker()).toBeDefined()

  const health = requestLines().filter((l) => l.route === '/health')
  expect(health.map((l) => [l.method, l.status, l.level])).toEqual([['POST', failed.status, 'info']])
})
