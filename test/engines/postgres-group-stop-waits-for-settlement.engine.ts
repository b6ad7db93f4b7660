/**
 * A TOLLGATE_WORKERS group on Postgres: a stopping worker's last writes may wait for the database up to
 * `database_timeout_ms` (PostgresStore.close), which an operator may set well above the 3 s the primary used to
 * allow past the grace. A worker whose settlement waits for a row lock is not killed while that wait may still
 * end: once the lock is released, the settlement is written, and no hold is left for the sweeper to charge in full.
 */
import { afterAll, afterEach, beforeAll, expect, test } from 'bun:test'
import { startMockProvider } from '../support/mock-provider'
import { waitFor } from '../support/wait-for'
import { spawnWorkerGroup } from '../support/worker-group'
import { startPostgres, type TestPostgres } from './support/postgres'

let pg: TestPostgres
beforeAll(async () => {
  pg = await startPostgres()
})
afterAll(async () => {
  await pg?.destroy()
})

const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

test('a group worker whose settlement waits for a row lock at its stop is not killed before its database deadline', async () => {
  const url = await pg.database('group_stop_settlement')
  const mock = startMockProvider({ latencyMs: 300 })
  cleanups.push(() => mock.stop())
  const group = spawnWorkerGroup(
    { database_url: url, database_timeout_ms: 8_000, workers: 2, shutdown_grace_ms: 500, log_level: 'warn' },
    cleanups,
    mock,
  )
  expect(await group.serving(2, 30_000)).toBe(true)

  const key = await group.userWithKey({ id: 'u1', max_budget: 10 })
  const answered = group.chat(key, 1000)
  // The hold is written; while the provider answers, another session locks the user's row the settlement updates.
  const direct = new Bun.SQL(url)
  cleanups.push(() => direct.close())
  expect(await waitFor(5_000, async () => Number((await direct`SELECT count(*) AS n FROM reservations`)[0].n) === 1)).toBe(true)
  let release!: () => void
  const released = new Promise<void>((resolve) => (release = resolve))
  let locked!: () => void
  const lockTaken = new Promise<void>((resolve) => (locked = resolve))
  const holder = direct.begin(async (tx) => {
    await tx`SELECT 1 FROM users WHERE id = 'u1' FOR UPDATE`
    locked()
    await released
  })
  cleanups.push(async () => {
    release()
    await holder.catch(() => {})
  })
  await lockTaken
  const res = await answered
  expect(res.status).toBe(200)
  await res.text()

  group.primary.kill('SIGTERM')
  // Past the old deadline (grace + 3 s), within the worker's own wait (its close's 8 s deadline).
  await Bun.sleep(4_500)
  release()
  await holder
  expect(await waitFor(30_000, () => group.primary.exitCode !== null)).toBe(true)

  const [{ n: holdsLeft }] = await direct`SELECT count(*)::int AS n FROM reservations`
  const [{ n: usageRows }] = await direct`SELECT count(*)::int AS n FROM usage`
  expect({ holdsLeft, usageRows, killed: /SIGKILL/.test(group.output()) }).toEqual({ holdsLeft: 0, usageRows: 1, killed: false })
}, 90_000)
