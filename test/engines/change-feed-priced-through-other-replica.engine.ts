/**
 * Mutation guard. A model this replica found unpriced (a client asked for it: 402) and that an
 * operator then prices through another replica is served here at once: the change feed's price message drops the
 * cache of models found unpriced as well as the priced ones ("price change: cache dropped at once"). replicas.engine
 * prices a model no replica had asked for yet, so a feed that kept the unpriced names for the TTL (60 s here) passed.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { startMockProvider, type MockProvider } from '../support/mock-provider'
import { spawnGateway, tempDir, type SpawnedGateway } from '../support/gateway'
import { startRedis, type TestRedis } from '../support/redis-server'
import { within } from '../support/wait-for'

let redis: TestRedis
let mock: MockProvider
let dir: string
let a: SpawnedGateway
let b: SpawnedGateway
const numsub = async () => Number((await redis.cli('pubsub', 'numsub', 'tollgate:changes')).split('\n')[1])

beforeAll(async () => {
  redis = await startRedis()
  mock = startMockProvider()
  dir = tempDir('tollgate-priced-later-')
  const dbPath = join(dir, 'shared.db')
  const env = { TOLLGATE_REDIS_URL: redis.address, TOLLGATE_CACHE_TTL_MS: '60000' }
  a = await spawnGateway({ mock, dbPath, env })
  b = await spawnGateway({ mock, dbPath, env })
}, 60_000)

afterAll(async () => {
  await Promise.all([a, b].filter(Boolean).map((g) => g.stop()))
  await redis?.stop()
  await mock?.stop()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

test('a model B refused as unpriced, then priced through A, is served by B within 1 s (not after the 60 s TTL)', async () => {
  expect(await within(5_000, async () => (await numsub()) === 2)).toBeLessThan(5_000)
  const { secret } = await a.userWithKey({ id: 'priced-later' })
  const ask = () =>
    fetch(`${b.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'mock:gpt-priced-later', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 }),
    })
  expect((await ask()).status).toBe(402) // B looks it up: unpriced, and keeps that
  expect((await a.admin('POST', '/v1/pricing', { model: 'mock:gpt-priced-later', input_per_million: 1, output_per_million: 1 })).status).toBe(201)
  const took = await within(1_000, async () => (await ask()).status === 200 || (await Bun.sleep(50), false))
  expect({ servedWithin1s: took < 1_000 }).toEqual({ servedWithin1s: true })
}, 30_000)

test("B's model list, read once, shows a model priced through A within 1 s (not after the 60 s TTL)", async () => {
  const { secret } = await a.userWithKey({ id: 'listed-later' })
  const listed = async () => {
    const body = (await (await fetch(`${b.url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } })).json()) as { data: { id: string }[] }
    return body.data.map((m) => m.id)
  }
  expect(await listed()).not.toContain('mock:gpt-listed-later') // B caches its list
  expect((await a.admin('POST', '/v1/pricing', { model: 'mock:gpt-listed-later', input_per_million: 1, output_per_million: 1 })).status).toBe(201)
  const took = await within(1_000, async () => (await listed()).includes('mock:gpt-listed-later') || (await Bun.sleep(50), false))
  expect({ listedWithin1s: took < 1_000 }).toEqual({ listedWithin1s: true })
}, 30_000)
