/**
 * Mutation guard. gatewayStopBoundMs (src/gateway-stop.ts) adds the store's close (on SQLite the
 * queued settlements committed under the full busy timeout, then the WAL cut) to the grace and CLOSING_MS. A
 * refactor that drops that term still passes worker-group-stop-waits-for-settlement (whose grace of 0.5 s hides
 * it behind the alerts' write wait), but a group with a grace of several seconds then SIGKILLs a worker whose
 * stop is still writing the settlement of a call the grace cut: the hold is left for the sweeper to charge in full.
 *
 * Here: a JSON call still waiting on its provider when SIGTERM comes (grace 5 s), another connection holding the
 * file's write lock; the grace cuts the call (settled as its whole hold), the close waits for the lock, which is
 * released 10 s after SIGTERM: within the worker's own wait, and past what the bound would be without the close.
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

test('a group worker whose stop cuts a call at a long grace and then waits for the write lock is not killed before its close ends', async () => {
  const mock = startMockProvider({ latencyMs: 60_000 })
  cleanups.push(() => mock.stop())
  const group = spawnWorkerGroup({ workers: 2, shutdown_grace_ms: 5_000, log_level: 'warn' }, cleanups, mock)
  expect(await group.serving(2, 20_000)).toBe(true)

  const key = await group.userWithKey({ id: 'u1', max_budget: 10 })
  const answered = group.chat(key, 1000)
  // The hold is written and the call waits on its provider; another connection takes the write lock.
  const locker = new Database(group.dbPath)
  cleanups.push(() => locker.close())
  expect(await waitFor(5_000, () => (locker.query('SELECT count(*) AS n FROM reservations').get() as { n: number }).n === 1)).toBe(true)
  locker.exec('PRAGMA busy_timeout = 5000')
  locker.exec('BEGIN IMMEDIATE')

  group.primary.kill('SIGTERM')
  const res = await answered
  expect(res.status).toBe(503)
  await res.text()
  // The cut came at ~5 s, the close begins about a second later and waits up to 5 s for the lock.
  await Bun.sleep(10_000 - 5_000)
  locker.exec('COMMIT')
  expect(await waitFor(30_000, () => group.primary.exitCode !== null)).toBe(true)

  const reader = new Database(group.dbPath, { readonly: true })
  cleanups.push(() => reader.close())
  const left = reader.query('SELECT count(*) AS n FROM reservations').get() as { n: number }
  const usage = reader.query('SELECT count(*) AS n FROM usage').get() as { n: number }
  expect({ holdsLeft: left.n, usageRows: usage.n, killed: /SIGKILL/.test(group.output()) }).toEqual({ holdsLeft: 0, usageRows: 1, killed: false })
}, 90_000)
