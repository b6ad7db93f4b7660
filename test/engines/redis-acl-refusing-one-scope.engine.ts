/**
 * A Redis user whose ACL grants some rate limits' keys and not the others' (key patterns per scope): it answers
 * a probe on a key of its own and refuses every per-key count with NOPERM. The probe called Redis up, the next
 * request's count down ("redis authentication failed"), the probe up again 250 ms later, and so on: two log lines
 * per request, and in the closed mode /health said "up" while requests with a key were refused 503. Redis is up
 * when every limit can be counted: the probe counts in each scope's keys, so the link stays down, told once, until
 * the ACL grants them.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from '../support/mock-provider'
import { spawnGateway, type SpawnedGateway } from '../support/gateway'
import { startRedis, type TestRedis } from '../support/redis-server'
import { within } from '../support/wait-for'

let redis: TestRedis
let mock: MockProvider
let gw: SpawnedGateway

beforeAll(async () => {
  redis = await startRedis()
  mock = startMockProvider()
  expect(await redis.cli('ACL', 'SETUSER', 'tg', 'on', '>pw', '~tollgate:rate:3:*', '&*', '+@all')).toBe('OK')
  gw = await spawnGateway({
    mock,
    env: { TOLLGATE_REDIS_URL: `redis://tg:pw@127.0.0.1:${redis.port}`, TOLLGATE_REDIS_FAILURE: 'closed', TOLLGATE_RATE_LIMIT_PER_MIN: '6000', TOLLGATE_LOG_LEVEL: 'info' },
  })
}, 60_000)

afterAll(async () => {
  await gw?.stop()
  await redis?.stop()
  await mock?.stop()
})

const transitions = () => gw.output().split('\n').filter((l) => l.includes('redis authentication failed') || l.includes('redis connected'))

test('a Redis that refuses per-key counts is down, told once, until its ACL grants them', async () => {
  const { secret } = await gw.userWithKey({ id: 'acl-one-scope' }, { rpm_limit: 6000 })
  // Every scope's keys but the per-key ones (and the key the probe counted on before it counted in each scope).
  expect(await redis.cli('ACL', 'SETUSER', 'tg', 'resetkeys', '~tollgate:rate:3:probe', '~tollgate:rate:3:ip:*', '~tollgate:rate:3:sign-in:*')).toBe('OK')
  const statuses: number[] = []
  for (let i = 0; i < 12; i++) {
    statuses.push((await fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } })).status)
    await Bun.sleep(300)
  }
  const health = await (await fetch(`${gw.url}/health`)).json()
  expect({ statuses: [...new Set(statuses)], health, transitions: transitions().length }).toEqual({
    statuses: [503],
    health: { status: 'unavailable', redis: 'down', redis_error: 'authentication_failed', redis_failure: 'closed' },
    transitions: 2, // connected at startup; refused at the first request
  })
  // Granted: up again (the probe counts a key of each scope), told once.
  expect(await redis.cli('ACL', 'SETUSER', 'tg', '~tollgate:rate:3:key:*')).toBe('OK')
  const took = await within(5_000, async () => (await fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } })).status === 200)
  expect({ servedWithin5s: took < 5_000, transitions: transitions().length }).toEqual({ servedWithin5s: true, transitions: 3 })
}, 60_000)
