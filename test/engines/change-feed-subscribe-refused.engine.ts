/**
 * A replica whose SUBSCRIBE Redis refuses: Redis 7 gives a new ACL user no channels (`acl-pubsub-default
 * resetchannels`), so `ACL SETUSER tollgate on >pw ~* +@all` runs the rate-limit script but gets NOPERM on
 * SUBSCRIBE. The change feed logs it (once), `/health` says the feed is down and why, and it tries again every
 * second: once the operator grants the channel, a key revoked through another replica is refused at once,
 * without a restart (the cache TTL is set long here to show that the feed, not the TTL, carries it).
 */
import { beforeAll, expect, test } from 'bun:test'
import type { SpawnedGateway } from '../support/gateway'
import type { TestRedis } from '../support/redis-server'
import { within } from '../support/wait-for'
import { models, subscribedGauge, withFeedRefusedReplicas } from './support/feed-refused-replicas'

let redis: TestRedis
let a: SpawnedGateway
let b: SpawnedGateway
const h = withFeedRefusedReplicas('tollgate-feed-refused-')
beforeAll(() => {
  ;({ redis, a, b } = h)
})
const health = async (g: SpawnedGateway) => (await fetch(`${g.url}/health`)).json() as Promise<Record<string, unknown>>

test('a refused SUBSCRIBE is logged, and /health says the change feed is down and why', async () => {
  expect(await within(10_000, async () => b.output().includes('could not subscribe'))).toBeLessThan(10_000)
  // Rate limits are shared all the same: Redis is up, its feed is not, for want of a right (NOPERM).
  expect(await health(b)).toEqual({ status: 'ok', redis: 'up', redis_changes: 'down', redis_error: 'authentication_failed', redis_failure: 'open' })
  expect(await subscribedGauge(b)).toBe(0)
}, 30_000)

test('once the ACL grants the channel, a key revoked through A is refused by B within seconds, without a restart', async () => {
  await redis.cli('ACL', 'SETUSER', 'tollgate', 'allchannels')
  // A retry of the subscription (one a second, each replica on its own clock) takes it.
  const ok = { status: 'ok', redis: 'up', redis_failure: 'open' }
  await within(10_000, async () => Bun.deepEquals(await health(a), ok) && Bun.deepEquals(await health(b), ok))
  expect({ a: await health(a), b: await health(b) }).toEqual({ a: ok, b: ok })
  expect(await subscribedGauge(b)).toBe(1)
  const { secret, keyId } = await a.userWithKey({ id: 'feed-refused' })
  expect((await models(b.url, secret)).status).toBe(200) // B caches it (TTL 60 s)
  expect((await a.admin('DELETE', `/v1/keys/${keyId}`)).status).toBe(200)
  const took = await within(2_000, async () => (await models(b.url, secret)).status === 401)
  const subscribers = Number((await redis.cli('pubsub', 'numsub', 'tollgate:changes')).split('\n')[1])
  expect({ refusedWithin2s: took < 2_000, subscribers }).toEqual({ refusedWithin2s: true, subscribers: 2 })
}, 30_000)
