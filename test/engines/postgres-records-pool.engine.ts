/**
 * On the Postgres store the admin records queries (`/v1/usage`, its summary and CSV, `/v1/audit`, the console's
 * charts) run on a small pool of their own (src/store/postgres/store.ts RECORDS_POOL), not on the pool every hold
 * takes its connection from (ledger-store.ts `pipelined` → `sql.reserve()`). A handful of slow admin reads — a
 * deep history scan, or reads waiting on a lock held by a `VACUUM FULL`, a non-concurrent index build or a newer
 * replica's migration on `usage` — take at most that pool, and an inference request whose own tables are free
 * gets its hold at once, not 503 database_unavailable after the deadline. (On one shared pool of 16 they took
 * every connection, and a statement given up on at the deadline kept its connection until Postgres answered.)
 * Issue 15's rule: no admin query delays a concurrent inference request by more than 5 ms. The quick records
 * reads (pages of keys and users, the /metrics alert counts) run on the main pool, not queued behind those reads.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from '../support/mock-provider'
import { startTestGateway, type TestGateway } from '../support/gateway'
import { chat, longText, PRICING } from '../support/exact-model'
import { startPostgres, type TestPostgres } from './support/postgres'

let pg: TestPostgres
let mock: MockProvider
beforeAll(async () => {
  pg = await startPostgres()
  mock = startMockProvider({ completionText: longText })
})
afterAll(async () => {
  mock?.stop()
  await pg?.destroy()
})

describe('slow admin records reads on the Postgres store', () => {
  let gw: TestGateway
  let direct: InstanceType<typeof Bun.SQL>
  let url: string
  beforeAll(async () => {
    url = await pg.database('records_pool')
    gw = await startTestGateway({ mock, config: { database_url: url, database_timeout_ms: 2_000, pricing: PRICING } })
    direct = new Bun.SQL(url, { max: 2 })
  })
  afterAll(async () => {
    await gw?.stop()
    await direct?.close()
  })

  test('20 admin usage reads stuck behind a lock on `usage` do not keep an inference request from its hold', async () => {
    const { secret } = await gw.userWithKey({ id: 'alice', max_budget: 10 })
    // The key is looked up and cached; nothing is left to settle.
    expect((await fetch(`${gw.url}/v1/key`, { headers: { authorization: `Bearer ${secret}` } })).status).toBe(200)
    await gw.settled()

    // Something holds `usage` (a VACUUM FULL, an index build, a newer replica's migration): reads of it wait.
    // Holds never touch `usage` (users, api_keys, reservations, api_request_log).
    const locker = await direct.reserve()
    await locker`BEGIN`
    await locker`LOCK TABLE usage IN ACCESS EXCLUSIVE MODE`
    try {
      const reads = Array.from({ length: 20 }, () => gw.admin('GET', '/v1/usage?limit=10'))
      // Wait until the gateway's reads are waiting on the lock on the server: as many as the records pool has
      // connections (4; on one shared pool, 16 were).
      for (let i = 0; i < 100; i++) {
        const [{ n }] = await direct`SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid()`
        if (n >= 4) break
        await Bun.sleep(50)
      }
      const started = performance.now()
      const res = await chat(gw.url, secret)
      const ms = performance.now() - started
      const body = await res.text()
      // The hold is taken and the provider answers (on one shared pool: 503 database_unavailable after the 2 s deadline).
      expect({ status: res.status, slow: ms > 1_000 }).toEqual({ status: 200, slow: false })
      expect(body).toContain('chat.completion')
      await Promise.allSettled(reads)
    } finally {
      await locker`ROLLBACK`
      locker.release()
    }
  }, 60_000)

  test('a key list and a user list are not queued behind admin usage reads that took every records connection', async () => {
    await gw.userWithKey({ id: 'bob' })
    const locker = await direct.reserve()
    await locker`BEGIN`
    await locker`LOCK TABLE usage IN ACCESS EXCLUSIVE MODE`
    try {
      const reads = Array.from({ length: 20 }, () => gw.admin('GET', '/v1/usage?limit=10'))
      for (let i = 0; i < 100; i++) {
        const [{ n }] = await direct`SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid()`
        if (n >= 4) break
        await Bun.sleep(50)
      }
      const started = performance.now()
      const [keys, users] = await Promise.all([gw.admin('GET', '/v1/keys?user_id=bob'), gw.admin('GET', '/v1/users')])
      const ms = performance.now() - started
      // Behind the records pool's 4 connections: 503 database_unavailable after the 2 s deadline.
      expect({ keys: keys.status, users: users.status, slow: ms > 1_000 }).toEqual({ keys: 200, users: 200, slow: false })
      expect(keys.body.data).toHaveLength(1)
      await Promise.allSettled(reads)
    } finally {
      await locker`ROLLBACK`
      locker.release()
    }
  }, 60_000)
})
