/**
 * An admin read of a user writes the settlements queued before it first (ledger.flush), so that what it shows
 * includes every finished request. On the Postgres store a settlement's statements wait 100 ms at most for a lock
 * (ROWS_LOCK_TIMEOUT_MS), and something may hold `usage` for a moment (an index build, a newer replica's migration):
 * the read failed at the first such try, though the lock went a moment later, well within the database deadline that
 * the read waits for anything else. It now tries again until that deadline, as a withheld answer's stored ids do.
 * So does a read of the request log (`/v1/audit`), which writes the log rows queued before it first.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from '../support/mock-provider'
import { startTestGateway, type TestGateway } from '../support/gateway'
import { chat, HOLD_USD, longText, PRICING } from '../support/exact-model'
import { startPostgres, type TestPostgres } from './support/postgres'

let pg: TestPostgres
let mock: MockProvider
let gw: TestGateway
let direct: InstanceType<typeof Bun.SQL>

beforeAll(async () => {
  pg = await startPostgres()
  mock = startMockProvider({ completionText: longText })
  const url = await pg.database('user_read_brief_lock')
  gw = await startTestGateway({ mock, config: { database_url: url, database_timeout_ms: 5_000, pricing: PRICING } })
  direct = new Bun.SQL(url, { max: 2 })
})
afterAll(async () => {
  await gw?.stop()
  await direct?.close()
  mock?.stop()
  await pg?.destroy()
})

/** Sessions of the gateway's waiting on a lock (the locker's own excluded). */
const lockWaiters = async () =>
  (await direct`SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid()`)[0].n as number

/**
 * Locks `table` against inserts (an index build's lock: reads go on), then: `request` (whose rows queue behind the
 * lock); a wait until a write of the gateway's has met the lock and its first try given up (100 ms); `read`, asked for
 * with the table still locked; the lock let go 300 ms later. Returns what the read answered.
 */
async function readAcrossBriefLock(table: string, request: () => Promise<void>, read: () => Promise<{ status: number; body: any }>) {
  const locker = await direct.reserve()
  await locker`BEGIN`
  await locker.unsafe(`LOCK TABLE ${table} IN SHARE MODE`)
  let released = false
  try {
    await request()
    let met = false
    for (let i = 0; i < 200 && !met; i++) {
      met = (await lockWaiters()) > 0
      if (!met) await Bun.sleep(10)
    }
    expect(met).toBe(true)
    await Bun.sleep(250)
    const answer = read()
    await Bun.sleep(300)
    released = true
    await locker`ROLLBACK`
    return await answer
  } finally {
    if (!released) await locker`ROLLBACK`
    locker.release()
  }
}

test("a user's read while `usage` is locked for a moment waits for its settlement and shows it", async () => {
  const { secret } = await gw.userWithKey({ id: 'alice', max_budget: 1 })
  expect((await chat(gw.url, secret)).status).toBe(200)
  await gw.settled()
  expect((await gw.admin('GET', '/v1/users/alice')).body.spend).toBeCloseTo(HOLD_USD, 9)

  // The hold needs no row of `usage`: the request is served, and its settlement queued behind the lock.
  const { status, body } = await readAcrossBriefLock(
    'usage',
    async () => expect((await chat(gw.url, secret)).status).toBe(200),
    () => gw.admin('GET', '/v1/users/alice'),
  )
  expect({ status, reserved: body.reserved }).toEqual({ status: 200, reserved: 0 })
  expect(body.spend).toBeCloseTo(2 * HOLD_USD, 9)
}, 30_000)

test('a read of the request log while it is locked for a moment waits for the rows queued before it', async () => {
  const { secret } = await gw.userWithKey({ id: 'bob', max_budget: 1 })
  await gw.settled()
  let requestId: string | null = null
  const { status, body } = await readAcrossBriefLock(
    'api_request_log',
    async () => {
      const res = await chat(gw.url, secret)
      expect(res.status).toBe(200)
      requestId = res.headers.get('x-request-id')
    },
    () => gw.admin('GET', '/v1/audit?limit=50'),
  )
  expect(requestId).toBeTruthy()
  expect(status).toBe(200)
  expect((body.data as Array<{ request_id: string }>).some((row) => row.request_id === requestId)).toBe(true)
}, 30_000)
