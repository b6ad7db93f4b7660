/**
 * Mutation guard (src/store/postgres/store.ts sessionBounds): every session of the store's pool has
 * `lock_timeout` = the database deadline: "A statement waits for a lock no longer than the deadline, past which its
 * caller was answered 503 anyway: a transaction given up on would otherwise keep its pooled connection waiting, and
 * the next one take another." The existing guards (postgres-frozen-replica, postgres-admin-write-after-deadline) check
 * the 503 and that nothing commits, which the client's own deadline gives; none checks that Postgres stops the wait.
 *
 * Kills: `lock_timeout: deadlineMs` → `lock_timeout: deadlineMs * 2` (and dropping it).
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { SQL } from 'bun'
import { startMockProvider, type MockProvider } from '../support/mock-provider'
import { spawnGateway, type SpawnedGateway } from '../support/gateway'
import { startPostgres, type TestPostgres } from './support/postgres'

const DEADLINE = 1_500
let pg: TestPostgres
let mock: MockProvider
let gw: SpawnedGateway
let db: SQL
beforeAll(async () => {
  pg = await startPostgres()
  mock = startMockProvider()
  const url = await pg.database('pg_guard_admin_lock')
  gw = await spawnGateway({ mock, env: { TOLLGATE_DATABASE_URL: url, TOLLGATE_DATABASE_TIMEOUT_MS: String(DEADLINE) } })
  db = new SQL(url, { max: 2 })
}, 60_000)
afterAll(async () => {
  await gw?.stop()
  await db?.close()
  mock?.stop()
  await pg?.destroy()
})

const waitingOnLock = async (locker: number) =>
  (await db`SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid() AND pid <> ${locker}`)[0].n as number

test("an admin write waiting on a key's row lock is refused 503 at the deadline, and its wait in Postgres ends then too", async () => {
  const { keyId } = await gw.userWithKey({ id: 'locked-out' })
  const locker = await db.reserve()
  const [{ pid }] = await locker`SELECT pg_backend_pid() AS pid`
  await locker`BEGIN`
  await locker`SELECT 1 FROM api_keys WHERE id = ${keyId} FOR UPDATE`
  try {
    const started = performance.now()
    const rotate = gw.admin('POST', `/v1/keys/${keyId}/rotate`)
    for (let i = 0; i < 100 && (await waitingOnLock(pid)) === 0; i++) await Bun.sleep(20)
    expect(await waitingOnLock(pid)).toBeGreaterThan(0)
    const res = await rotate
    expect(res.status).toBe(503)
    // Within a third of a deadline past it, nothing of the gateway's still waits for the row.
    let still = await waitingOnLock(pid)
    while (still > 0 && performance.now() - started < DEADLINE * 1.33) {
      await Bun.sleep(25)
      still = await waitingOnLock(pid)
    }
    expect(still).toBe(0)
  } finally {
    await locker`ROLLBACK`
    locker.release()
  }
}, 60_000)
