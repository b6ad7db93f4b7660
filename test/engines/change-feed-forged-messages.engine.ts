/**
 * Red team (jn): a message on `tollgate:changes` that is valid JSON but not an object — the four bytes `null` —
 * reaches ChangeFeed.receive (src/redis/change-feed.ts), which reads `change.origin` on it and throws a TypeError
 * inside Bun's subscriber callback: an uncaught exception that ends the process. Every replica subscribed to the
 * channel receives it at once, so one PUBLISH from anyone who may publish there (another application sharing the
 * Redis, an ACL user granted `&tollgate:changes` or `allchannels`, a foreign tollgate on another `/db` of the same
 * server: pub/sub ignores the db number) stops the whole fleet, in-flight requests included, and again as often
 * as it is sent. README ("Scaling out"): changes on the channel only make a replica drop what it cached.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { RedisClient } from 'bun'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { startMockProvider, type MockProvider } from '../support/mock-provider'
import { MASTER_KEY, spawnGateway, tempDir, type SpawnedGateway } from '../support/gateway'
import { startRedis, type TestRedis } from '../support/redis-server'
import { replicaEnvironment } from '../support/replicas'
import { untilRedisUp, within } from '../support/wait-for'

let redis: TestRedis
let mock: MockProvider
let dir: string
let a: SpawnedGateway
let b: SpawnedGateway

beforeAll(async () => {
  redis = await startRedis()
  mock = startMockProvider()
  dir = tempDir('tollgate-rtjn-forged-')
  const dbPath = join(dir, 'shared.db')
  const env = replicaEnvironment({ redisUrl: redis.url, dbPath, masterKey: MASTER_KEY })
  a = await spawnGateway({ mock, dbPath, env })
  b = await spawnGateway({ mock, dbPath, env })
  for (const g of [a, b]) await untilRedisUp(g.url)
}, 60_000)

afterAll(async () => {
  await Promise.all([a, b].filter(Boolean).map((g) => g.stop().catch(() => {})))
  await redis?.stop()
  await mock?.stop()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

const numsub = async () => Number((await redis.cli('pubsub', 'numsub', 'tollgate:changes')).split('\n')[1])
const models = (url: string, secret: string) =>
  fetch(`${url}/v1/models`, { headers: { authorization: `Bearer ${secret}`, 'x-forwarded-for': '198.51.100.7' } }).then(
    (r) => r.status,
    () => null,
  )

describe('forged change-feed messages', () => {
  test('one published `null` leaves every replica serving and subscribed', async () => {
    expect(await within(5_000, async () => (await numsub()) === 2)).toBeLessThan(5_000)
    const { secret } = await a.userWithKey({ id: 'rt-forged' })
    expect([await models(a.url, secret), await models(b.url, secret)]).toEqual([200, 200])

    await redis.cli('publish', 'tollgate:changes', 'null')
    await Bun.sleep(1_000)

    const state = (g: SpawnedGateway) => ({
      exitCode: g.proc.exitCode,
      // Why it stopped, if it did.
      crash: g.output().split('\n').filter((l) => /TypeError/.test(l)).slice(0, 1).join(''),
    })
    const after = {
      a: { ...state(a), status: await models(a.url, secret) },
      b: { ...state(b), status: await models(b.url, secret) },
      subscribers: await numsub(),
    }
    expect(after).toEqual({
      a: { exitCode: null, crash: '', status: 200 },
      b: { exitCode: null, crash: '', status: 200 },
      subscribers: 2,
    })
  }, 60_000)

  test('ill-formed messages of every shape, each sent often, are ignored: every replica serves, and logs each kind of malformation once', async () => {
    const { secret } = await a.userWithKey({ id: 'rt-forged-shapes' })
    const huge = JSON.stringify({ kind: 'prices', origin: 'forged', pad: 'x'.repeat(8 * 1024 * 1024) })
    const forged = [
      'null', '"x"', '[]', '{}', '7', 'true', 'not json', '{"kind":"key"}', '{"kind":"key","id":5,"origin":"o"}',
      '{"kind":"user","id":null,"origin":"o"}', '{"kind":"key","id":"k","origin":7}', '{"kind":"toString","id":"k","origin":"o"}',
      '{"kind":"__proto__","origin":"o"}', '{"kind":"prices"}', huge,
    ]
    const publisher = new RedisClient(redis.url)
    try {
      for (let round = 0; round < 5; round++) for (const message of forged) await publisher.send('PUBLISH', ['tollgate:changes', message])
    } finally {
      publisher.close()
    }
    const ignoredLines = (g: SpawnedGateway) => g.output().split('\n').filter((l) => l.includes('ignored a message on tollgate:changes')).length
    // Each replica has read them (it told one), and a second more for any late harm.
    for (const g of [a, b]) expect(await within(10_000, async () => ignoredLines(g) > 0)).toBeLessThan(10_000)
    await Bun.sleep(1_000)

    const after = {
      exitCodes: [a.proc.exitCode, b.proc.exitCode],
      statuses: [await models(a.url, secret), await models(b.url, secret)],
      subscribers: await numsub(),
    }
    expect(after).toEqual({ exitCodes: [null, null], statuses: [200, 200], subscribers: 2 })
    // Told, but not once per message: 75 were sent to each replica.
    for (const g of [a, b]) {
      expect(ignoredLines(g)).toBeGreaterThan(0)
      expect(ignoredLines(g)).toBeLessThanOrEqual(10)
    }
  }, 60_000)

  test('a forged message of the right shape only drops caches: it neither revokes a key nor brings a revoked one back', async () => {
    const live = await a.userWithKey({ id: 'rt-forged-live' })
    const revoked = await a.userWithKey({ id: 'rt-forged-revoked' })
    expect([await models(b.url, live.secret), await models(b.url, revoked.secret)]).toEqual([200, 200])
    expect((await a.admin('DELETE', `/v1/keys/${revoked.keyId}`)).status).toBe(200)
    expect(await within(5_000, async () => (await models(b.url, revoked.secret)) === 401)).toBeLessThan(5_000)

    for (const message of [
      { kind: 'key', id: live.keyId, origin: 'forged' },
      { kind: 'user', id: 'rt-forged-live', origin: 'forged' },
      { kind: 'key', id: revoked.keyId, origin: 'forged' },
      { kind: 'user', id: 'rt-forged-revoked', origin: 'forged' },
      { kind: 'prices', origin: 'forged' },
    ])
      await redis.cli('publish', 'tollgate:changes', JSON.stringify(message))
    await Bun.sleep(300)
    for (const g of [a, b]) expect([await models(g.url, live.secret), await models(g.url, revoked.secret)]).toEqual([200, 401])
  }, 60_000)
})
