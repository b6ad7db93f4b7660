/**
 * A gateway whose Redis address leads to a replica (a failover not yet finished behind the address, a Redis
 * loading its data) has its connections dropped and made again every second by the link (READONLY), which tells
 * that once per outage. The change feed's SUBSCRIBE, in flight when the link drops the subscriber ("Connection
 * closed"), is the link's doing: it is not logged as a failure of its own, nor followed by "subscribed to changes
 * again" — which were about one line a second, per replica, for as long as the outage lasted.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { spawnGateway, type SpawnedGateway } from '../support/gateway'
import { startRedis, type TestRedis } from '../support/redis-server'

let primary: TestRedis
let replica: TestRedis
let gw: SpawnedGateway

beforeAll(async () => {
  primary = await startRedis()
  replica = await startRedis()
  // The copy the replica receives is loaded from the socket, never written to the working directory.
  expect(await primary.cli('CONFIG', 'SET', 'repl-diskless-sync', 'yes')).toBe('OK')
  expect(await replica.cli('CONFIG', 'SET', 'repl-diskless-load', 'swapdb')).toBe('OK')
  expect(await replica.cli('REPLICAOF', '127.0.0.1', String(primary.port))).toBe('OK')
  gw = await spawnGateway({
    env: { TOLLGATE_REDIS_URL: replica.url, TOLLGATE_RATE_LIMIT_PER_MIN: '6000', TOLLGATE_LOG_LEVEL: 'info' },
  })
}, 60_000)

afterAll(async () => {
  await gw?.stop()
  await replica?.stop()
  await primary?.stop()
})

test("an address leading to a replica for 10 s: the change feed does not log at each of the link's reconnections", async () => {
  await Bun.sleep(10_000) // ten reconnections or so
  expect((await (await fetch(`${gw.url}/health`)).json()) as any).toMatchObject({ redis: 'down' })
  const lines = gw.output().split('\n')
  const link = lines.filter((l) => l.includes('dropping its connections'))
  const feed = lines.filter((l) => l.includes('could not subscribe') || l.includes('subscribed to changes again'))
  // Once per outage: the link's own line, and at most one from the feed (none is needed: the link told the outage).
  expect({ linkLines: link.length, feedLines: feed.length <= 1 ? 'at most one' : feed }).toEqual({ linkLines: 1, feedLines: 'at most one' })
}, 60_000)
