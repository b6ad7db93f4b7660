/**
 * Mutation guard. A replica whose SUBSCRIBE Redis refused (NOPERM: the ACL lacks the channel) hears
 * nothing while it is refused: a key revoked through another replica meanwhile stays in its cache. Once the
 * operator grants the channel and it subscribes, it must forget every cached key (change-feed.ts: "A replica
 * whose subscription was broken subscribes again and forgets every cached key and price: it cannot know what it
 * missed"), so the revoked key is refused at once, not after the cache TTL (60 s here). The existing
 * change-feed-subscribe-refused test revokes only after the grant, so a feed that skipped the forgetting after a
 * failed subscription passed it.
 */
import { beforeAll, expect, test } from 'bun:test'
import type { SpawnedGateway } from '../support/gateway'
import type { TestRedis } from '../support/redis-server'
import { within } from '../support/wait-for'
import { models, subscribedGauge, withFeedRefusedReplicas } from './support/feed-refused-replicas'

let redis: TestRedis
let a: SpawnedGateway
let b: SpawnedGateway
const h = withFeedRefusedReplicas('tollgate-refused-')
beforeAll(() => {
  ;({ redis, a, b } = h)
})

test('a key revoked through A while B\'s SUBSCRIBE was refused is refused by B as soon as the grant lets B subscribe (not after the 60 s TTL)', async () => {
  await Bun.sleep(500)
  expect(await subscribedGauge(b)).toBe(0)
  const { secret, keyId } = await a.userWithKey({ id: 'refused' })
  expect((await models(b.url, secret)).status).toBe(200) // B caches it (TTL 60 s)
  expect((await a.admin('DELETE', `/v1/keys/${keyId}`)).status).toBe(200) // B does not hear it: refused
  expect((await models(b.url, secret)).status).toBe(200) // still cached on B (the TTL backstop)
  await redis.cli('ACL', 'SETUSER', 'tollgate', 'allchannels')
  await within(5_000, async () => (await subscribedGauge(b)) === 1)
  expect(await subscribedGauge(b)).toBe(1)
  // Subscribed again: B cannot know what it missed, so it reads the key again.
  expect((await models(b.url, secret)).status).toBe(401)
}, 30_000)
