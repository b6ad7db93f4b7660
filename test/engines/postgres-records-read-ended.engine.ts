/**
 * Mutation guard (src/store/postgres/store.ts recordsSession): README, Postgres store: the records pool's
 * "connections have `statement_timeout` set to `TOLLGATE_DATABASE_TIMEOUT_MS`, so Postgres ends a read when its caller
 * is refused rather than keeping the connection until it answers". postgres-records-pool only checks that a hold is
 * not kept waiting; nothing checks that the read given up on is really ended in Postgres, so the records pool's two
 * connections (and the next report's turn) stay stuck behind a lock on `usage` for as long as it lasts. The gateway
 * also cancels a read given up on (records-scans.ts), but a cancel needs the network: with the route to Postgres
 * gone silent, only `statement_timeout` ends the read server-side.
 *
 * Kills: `recordsSession = (deadlineMs) => ({ statement_timeout: deadlineMs, … })` → without `statement_timeout`.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from '../support/mock-provider'
import { startTestGateway, type TestGateway } from '../support/gateway'
import { PRICING } from '../support/exact-model'
import { startPostgres, type TestPostgres } from './support/postgres'
import { startTcpRelay, type TcpRelay } from './support/tcp-relay'

const DEADLINE = 1_000
let pg: TestPostgres
let mock: MockProvider
let gw: TestGateway
let direct: InstanceType<typeof Bun.SQL>
let relay: TcpRelay
beforeAll(async () => {
  pg = await startPostgres()
  mock = startMockProvider()
  const url = await pg.database('pg_guard_records')
  relay = startTcpRelay(pg.port)
  gw = await startTestGateway({ mock, config: { database_url: url.replace(`:${pg.port}/`, `:${relay.port}/`), database_timeout_ms: DEADLINE, pricing: PRICING } })
  direct = new Bun.SQL(url, { max: 2 })
}, 60_000)
afterAll(async () => {
  relay?.thaw()
  await gw?.stop()
  relay?.stop()
  await direct?.close()
  mock?.stop()
  await pg?.destroy()
})

const waitingOnLock = async () =>
  (await direct`SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid()`)[0].n as number

test('an admin usage read stuck behind a lock on `usage` is refused 503 at the deadline, and Postgres ends it then too', async () => {
  await gw.userWithKey({ id: 'reader', max_budget: 1 })
  const locker = await direct.reserve()
  await locker`BEGIN`
  await locker`LOCK TABLE usage IN ACCESS EXCLUSIVE MODE`
  try {
    const read = gw.admin('GET', '/v1/usage?limit=10')
    for (let i = 0; i < 100 && (await waitingOnLock()) === 0; i++) await Bun.sleep(20)
    expect(await waitingOnLock()).toBeGreaterThan(0)
    // The route to Postgres then stops answering: the gateway's cancel of the read cannot reach it, and only the
    // session's statement_timeout ends the wait there.
    relay.freeze()
    const res = await read
    expect({ status: res.status, code: res.body?.error?.code }).toEqual({ status: 503, code: 'database_unavailable' })
    // Postgres ended the statement at the same deadline: nothing of the gateway's still waits for the lock.
    let still = await waitingOnLock()
    for (let i = 0; i < 25 && still > 0; i++) {
      await Bun.sleep(40)
      still = await waitingOnLock()
    }
    expect(still).toBe(0)
  } finally {
    relay.thaw()
    await locker`ROLLBACK`
    locker.release()
  }
}, 60_000)
