/**
 * A client's rate-limit key overwritten with another type (another application sharing the Redis, an
 * operator's `HSET` by mistake, a key-name collision) would fail the script with WRONGTYPE on every request of
 * that client, for good (the foreign value has no TTL): in the `closed` mode that one client was refused 503
 * `rate_limiter_unavailable` while Redis answered and served every other client. The script takes a foreign-typed
 * key as absent and overwrites it.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from '../support/gateway'
import { startRedis, type TestRedis } from '../support/redis-server'
import { within } from '../support/wait-for'

let redis: TestRedis
let gw: TestGateway
beforeAll(async () => {
  redis = await startRedis()
  gw = await startTestGateway({ config: { rate_limit_per_min: 600, redis_url: redis.url, redis_failure: 'closed' } })
})
afterAll(async () => {
  await gw?.stop()
  await redis?.stop()
})

test('a client whose rate-limit key holds a foreign type is still counted (not refused 503) while Redis answers', async () => {
  const up = await within(5_000, async () => ((await (await fetch(`${gw.url}/health`)).json()) as any).redis === 'up')
  expect(up).toBeLessThan(5_000)
  expect((await fetch(`${gw.url}/v1/models`)).status).toBe(401) // the loopback client's key exists now
  // The client's key, not the link's probe of the scope (`…:ip:probe`), which the scan may list first.
  const [key] = (await redis.cli('--scan', '--pattern', 'tollgate:rate:*:ip:*')).split('\n').filter((k) => !k.endsWith(':probe'))
  expect(key).toBeTruthy()
  await redis.cli('DEL', key!)
  await redis.cli('HSET', key!, 'owner', 'another-app')
  const statuses: number[] = []
  for (let i = 0; i < 3; i++) statuses.push((await fetch(`${gw.url}/v1/models`)).status)
  const health = await (await fetch(`${gw.url}/health`)).json()
  expect({ statuses, health }).toEqual({ statuses: [401, 401, 401], health: { status: 'ok', redis: 'up', redis_failure: 'closed' } })
  expect(await redis.cli('TYPE', key!)).toBe('string') // overwritten with the client's count
}, 30_000)
