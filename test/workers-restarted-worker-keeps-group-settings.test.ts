/**
 * README (TOLLGATE_WORKERS): a worker the primary starts again (after a crash) runs by the group's settings, not
 * by what the configuration file says by then. The primary waits out each worker's stop by the grace and database
 * timeout it started with, and checks the hold TTL against the upstream timeout once, for the group; every worker's
 * sweeper applies its TTL to all the group's holds. A restarted worker reading an edited file would be killed while
 * still draining within a longer grace (its call cut, no usage row, the hold swept in full), or hold with a TTL
 * below the upstream timeout that nothing warned of.
 */
import { afterEach, expect, test } from 'bun:test'
import { Database } from 'bun:sqlite'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { gatewayStopBoundMs } from '../src/gateway-stop'
import { startMockProvider } from './support/mock-provider'
import { waitFor } from './support/wait-for'
import { spawnWorkerGroup, type WorkerGroup } from './support/worker-group'

const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

/** Writes `changes` into the group's file, then kills every worker: the primary starts each again, reading the file. */
async function editFileAndCrashWorkers(group: WorkerGroup, changes: Record<string, unknown>): Promise<void> {
  const file = join(group.dir, 'tollgate.yaml')
  writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), ...changes }))
  const pids = group.workerPids()
  for (const pid of pids) process.kill(pid, 'SIGKILL')
  expect(await group.serving(pids.length * 2, 30_000)).toBe(true)
}

const holdsOpen = (db: Database) => (db.query('SELECT count(*) AS n FROM reservations').get() as { n: number }).n

test('a worker restarted after the file raised the shutdown grace stops within the group\'s grace, not killed by the primary while draining', async () => {
  const grace = 500
  const primaryBound = gatewayStopBoundMs({ shutdown_grace_ms: grace, database_url: undefined, database_timeout_ms: 5000 })
  // A call the file's grace would let finish, which the primary's bound would cut by SIGKILL.
  const callMs = primaryBound + 4_000
  const mock = startMockProvider({ latencyMs: callMs })
  cleanups.push(() => mock.stop())
  const group = spawnWorkerGroup({ workers: 2, shutdown_grace_ms: grace, log_level: 'warn' }, cleanups, mock)
  expect(await group.serving(2, 30_000)).toBe(true)
  const key = await group.userWithKey({ id: 'u1', max_budget: 10 })

  // The operator raises the grace in the file ahead of a planned restart, and both workers crash meanwhile.
  await editFileAndCrashWorkers(group, { shutdown_grace_ms: callMs + 30_000 })

  const answered = group.chat(key, 1000)
  const reader = new Database(group.dbPath, { readonly: true })
  cleanups.push(() => reader.close())
  expect(await waitFor(5_000, () => holdsOpen(reader) === 1)).toBe(true)
  // The planned restart: the group is stopped while the call runs.
  group.primary.kill('SIGTERM')
  await answered.catch(() => undefined)
  expect(await waitFor(primaryBound + 5_000, () => group.primary.exitCode !== null)).toBe(true)

  // Cut at the group's grace, by the worker itself: settled and recorded, nothing left for the sweeper.
  const usage = reader.query("SELECT count(*) AS n FROM usage WHERE user_id = 'u1'").get() as { n: number }
  expect({ holdsOpen: holdsOpen(reader), usageRows: usage.n, killed: /killing them \(SIGKILL\)/.test(group.output()) }).toEqual({ holdsOpen: 0, usageRows: 1, killed: false })
}, 120_000)

test('a worker restarted after the file set a reservation TTL below the upstream timeout holds for the group\'s TTL', async () => {
  const mock = startMockProvider({ latencyMs: 2_000 })
  cleanups.push(() => mock.stop())
  const group = spawnWorkerGroup({ workers: 2, reservation_ttl_sec: 900, upstream_timeout_ms: 60_000, log_level: 'warn' }, cleanups, mock)
  expect(await group.serving(2, 30_000)).toBe(true)
  const key = await group.userWithKey({ id: 'u1', max_budget: 10 })

  await editFileAndCrashWorkers(group, { reservation_ttl_sec: 30, upstream_timeout_ms: 120_000 })

  const answered = group.chat(key, 10)
  const reader = new Database(group.dbPath, { readonly: true })
  cleanups.push(() => reader.close())
  expect(await waitFor(1_500, () => holdsOpen(reader) === 1)).toBe(true)
  const hold = reader.query('SELECT expires_at - created_at AS ttl FROM reservations').get() as { ttl: number }
  expect((await answered).status).toBe(200)
  // Nothing to warn of: the group's TTL is above its upstream timeout, and so is every worker's.
  expect({ ttlMs: hold.ttl, warned: /RESERVATION_TTL_SEC is not above/.test(group.output()) }).toEqual({ ttlMs: 900_000, warned: false })
}, 60_000)
