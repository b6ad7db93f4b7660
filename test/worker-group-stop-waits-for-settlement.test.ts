/**
 * A TOLLGATE_WORKERS primary kills a stopping worker only once the worker's own stop could no longer be doing
 * legitimate work (gatewayStopBoundMs). Past its grace and CLOSING_MS, a worker's SqliteStore.close commits the
 * queued settlements under the full busy timeout (BUSY_TIMEOUT_MS, 5 s) while another connection holds the
 * write lock (a sibling, a backup tool, an operator's sqlite3). The primary used to kill it 3 s past the grace:
 * its settlement lost, the hold left in `reservations` for the sweeper to charge in full, no usage row.
 *
 * Here: a request is answered (a real cost of a few micro-dollars) while another connection holds the file's
 * write lock; the group is stopped (grace 0.5 s); the lock is released 4.5 s after SIGTERM, within the worker's
 * own 5 s wait and past the old deadline (3.5 s).
 */
import { afterEach, expect, test } from 'bun:test'
import { Database } from 'bun:sqlite'
import { startMockProvider } from './support/mock-provider'
import { waitFor } from './support/wait-for'
import { spawnWorkerGroup } from './support/worker-group'

const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

test('a group worker waiting for the write lock to write a settlement at its stop is not killed before its own wait ends', async () => {
  const mock = startMockProvider({ latencyMs: 300 })
  cleanups.push(() => mock.stop())
  const group = spawnWorkerGroup({ workers: 2, shutdown_grace_ms: 500, log_level: 'warn' }, cleanups, mock)
  expect(await group.serving(2, 20_000)).toBe(true)

  const key = await group.userWithKey({ id: 'u1', max_budget: 10 })
  const answered = group.chat(key, 1000)
  // The hold is written; while the provider answers, another connection takes the write lock.
  const locker = new Database(group.dbPath)
  cleanups.push(() => locker.close())
  expect(await waitFor(5_000, () => (locker.query('SELECT count(*) AS n FROM reservations').get() as { n: number }).n === 1)).toBe(true)
  locker.exec('PRAGMA busy_timeout = 5000')
  locker.exec('BEGIN IMMEDIATE')
  const res = await answered
  expect(res.status).toBe(200)
  await res.text()

  group.primary.kill('SIGTERM')
  await Bun.sleep(4_500)
  locker.exec('COMMIT')
  expect(await waitFor(20_000, () => group.primary.exitCode !== null)).toBe(true)

  const reader = new Database(group.dbPath, { readonly: true })
  cleanups.push(() => reader.close())
  const left = reader.query('SELECT count(*) AS n FROM reservations').get() as { n: number }
  const usage = reader.query('SELECT count(*) AS n FROM usage').get() as { n: number }
  // The settlement was written once the lock was free: no hold left for the sweeper to charge in full.
  expect({ holdsLeft: left.n, usageRows: usage.n, killed: /SIGKILL/.test(group.output()) }).toEqual({ holdsLeft: 0, usageRows: 1, killed: false })
}, 60_000)
