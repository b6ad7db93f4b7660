/**
 * Redis's host dies without closing its connections (power lost, a VM gone, a partition: no FIN, no RST) and a
 * new Redis takes over its address. Bun calls the dead connections connected until the kernel gives them up
 * (about 15 min of retransmissions): the link, after two commands timed out in a row, drops both connections
 * and connects again, so that the gateway reaches the new Redis and subscribes there by itself. A TCP relay
 * stands for the address: it silences its open connections (the dead host) and leads new ones to the new Redis.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { RedisClient } from 'bun'
import { spawnGateway, type SpawnedGateway } from '../support/gateway'
import { startRedis, type TestRedis } from '../support/redis-server'
import { startTcpRelay, type TcpRelay } from '../support/tcp-relay'
import { within } from '../support/wait-for'

let oldHost: TestRedis
let newHost: TestRedis
let address: TcpRelay
let target = 0
let gw: SpawnedGateway

beforeAll(async () => {
  oldHost = await startRedis()
  newHost = await startRedis()
  target = oldHost.port
  address = startTcpRelay(() => target)
  gw = await spawnGateway({
    env: { TOLLGATE_REDIS_URL: `redis://127.0.0.1:${address.port}`, TOLLGATE_REDIS_FAILURE: 'closed', TOLLGATE_RATE_LIMIT_PER_MIN: '6000' },
  })
}, 60_000)

afterAll(async () => {
  await gw?.stop()
  address?.stop()
  await oldHost?.stop()
  await newHost?.stop()
})

const subscribedOn = async (redis: TestRedis) => (await redis.cli('pubsub', 'numsub', 'tollgate:changes')).endsWith('\n1')

test('Redis host gone silently, a new one at the address: the gateway reaches it and subscribes there without a restart', async () => {
  expect((await fetch(`${gw.url}/v1/models`)).status).toBe(401) // limited through Redis, then no key: 401
  expect(await within(5_000, () => subscribedOn(oldHost))).toBeLessThan(5_000)
  address.silence()
  target = newHost.port
  // A new connection to the address reaches the new Redis (what the gateway finds by reconnecting).
  const fresh = new RedisClient(`redis://127.0.0.1:${address.port}`)
  expect(await fresh.send('SET', ['new-host-probe', '1'])).toBe('OK')
  expect(await newHost.cli('GET', 'new-host-probe')).toBe('1')
  fresh.close()
  // Closed mode: refused while Redis does not answer...
  expect((await fetch(`${gw.url}/v1/models`)).status).toBe(503)
  // ...until the gateway has reconnected by itself.
  const served = await within(15_000, async () => (await fetch(`${gw.url}/v1/models`)).status === 401)
  const subscribed = await within(5_000, () => subscribedOn(newHost))
  expect({ servedWithin15s: served < 15_000, subscribedOnNewHost: subscribed < 5_000 }).toEqual({ servedWithin15s: true, subscribedOnNewHost: true })
}, 60_000)
