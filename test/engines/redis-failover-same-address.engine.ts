/**
 * A Redis failover behind one address (a managed Redis's primary endpoint, a DNS name, a proxy): the old
 * primary, now a replica, answers `READONLY` to every rate-limit script on the connection the gateway keeps to
 * it. The link drops its connections on READONLY (as ioredis does) and connects again, reaching the new primary
 * the address now leads to, without a restart. A TCP relay stands for the address: new connections go to the
 * new primary once the old one is demoted.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { RedisClient } from 'bun'
import { spawnGateway, type SpawnedGateway } from '../support/gateway'
import { startRedis, type TestRedis } from '../support/redis-server'
import { startTcpRelay, type TcpRelay } from '../support/tcp-relay'
import { within } from '../support/wait-for'

let oldPrimary: TestRedis
let newPrimary: TestRedis
let address: TcpRelay
let target = 0
let gw: SpawnedGateway

beforeAll(async () => {
  oldPrimary = await startRedis()
  newPrimary = await startRedis()
  target = oldPrimary.port
  address = startTcpRelay(() => target)
  gw = await spawnGateway({
    env: { TOLLGATE_REDIS_URL: `redis://127.0.0.1:${address.port}`, TOLLGATE_REDIS_FAILURE: 'closed', TOLLGATE_RATE_LIMIT_PER_MIN: '6000' },
  })
}, 60_000)

afterAll(async () => {
  await gw?.stop()
  address?.stop()
  await oldPrimary?.stop()
  await newPrimary?.stop()
})

test('after a failover behind the same address, the gateway reaches the new primary without a restart', async () => {
  expect((await fetch(`${gw.url}/v1/models`)).status).toBe(401) // limited through Redis, then no key: 401
  // Failover: the old primary becomes a replica of the new one, and the address now leads to the new one.
  target = newPrimary.port
  // The copy the replica receives is loaded from the socket, never written to the working directory.
  expect(await newPrimary.cli('CONFIG', 'SET', 'repl-diskless-sync', 'yes')).toBe('OK')
  expect(await oldPrimary.cli('CONFIG', 'SET', 'repl-diskless-load', 'swapdb')).toBe('OK')
  expect(await oldPrimary.cli('REPLICAOF', '127.0.0.1', String(newPrimary.port))).toBe('OK')
  // A new connection to the address reaches a primary that takes writes (what the gateway finds by reconnecting).
  const fresh = new RedisClient(`redis://127.0.0.1:${address.port}`)
  expect(await fresh.send('SET', ['failover-probe', '1'])).toBe('OK')
  fresh.close()
  const refused = await fetch(`${gw.url}/v1/models`)
  const error = ((await refused.json()) as any).error?.code
  // Closed mode: refused while the old primary answers READONLY...
  expect({ status: refused.status, error }).toEqual({ status: 503, error: 'rate_limiter_unavailable' })
  // ...until the gateway has found the new primary by itself.
  const took = await within(10_000, async () => (await fetch(`${gw.url}/v1/models`)).status === 401)
  const health = await (await fetch(`${gw.url}/health`)).json()
  expect({ servedWithin10s: took < 10_000, health }).toEqual({ servedWithin10s: true, health: { status: 'ok', redis: 'up', redis_failure: 'closed' } })
}, 60_000)

test('an address that still leads to a replica: refused while it does, told once (not at each reconnection), served once it is promoted', async () => {
  // After the failover above, the old primary is a replica; a gateway given its own address reaches only it.
  const onReplica = await spawnGateway({
    env: { TOLLGATE_REDIS_URL: oldPrimary.url, TOLLGATE_REDIS_FAILURE: 'closed', TOLLGATE_RATE_LIMIT_PER_MIN: '6000', TOLLGATE_LOG_LEVEL: 'info' },
  })
  try {
    const toldReadOnly = () => onReplica.output().split('\n').some((l) => l.includes('redis unreachable') && l.includes('READONLY'))
    expect(await within(10_000, async () => toldReadOnly())).toBeLessThan(10_000)
    await Bun.sleep(3_000) // three reconnections or more
    expect((await fetch(`${onReplica.url}/v1/models`)).status).toBe(503)
    const lines = onReplica.output().split('\n')
    expect(lines.filter((l) => l.includes('dropping its connections'))).toHaveLength(1)
    expect(lines.filter((l) => l.includes('redis unreachable') && l.includes('READONLY'))).toHaveLength(1)
    expect(await oldPrimary.cli('REPLICAOF', 'NO', 'ONE')).toBe('OK')
    expect(await within(5_000, async () => (await fetch(`${onReplica.url}/v1/models`)).status === 401)).toBeLessThan(5_000)
  } finally {
    await onReplica.stop()
  }
}, 60_000)
