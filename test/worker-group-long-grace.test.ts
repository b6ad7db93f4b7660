/**
 * A TOLLGATE_WORKERS primary kills a stopping worker only past `gatewayStopBoundMs(config)`, which adds the stop's
 * other waits to settings the schema accepts up to 2,147,483,647 ms each (the longest a timer can wait). Past that,
 * a timer fires after 1 ms: every worker was SIGKILLed the moment the group was stopped, the call in flight cut,
 * its hold left for the sweeper to charge in full. The bound is now at most the longest timer.
 */
import { afterEach, expect, test } from 'bun:test'
import { MAX_TIMER_MS } from '../src/config/schema'
import { gatewayStopBoundMs } from '../src/gateway-stop'
import { Database } from 'bun:sqlite'
import { startMockProvider } from './support/mock-provider'
import { waitFor } from './support/wait-for'
import { spawnWorkerGroup } from './support/worker-group'

const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

test('a group stopped with a long (valid) shutdown grace lets the call in flight finish and settle; no worker is killed at once', async () => {
  const mock = startMockProvider({ latencyMs: 1_500 })
  cleanups.push(() => mock.stop())
  const group = spawnWorkerGroup(
    {
      workers: 2, log_level: 'warn',
      // Accepted by the schema (at most 2,147,483,647); the old deadline (grace + 3 s) still fit a timer.
      shutdown_grace_ms: 2_147_475_000,
    },
    cleanups,
    mock,
  )
  expect(await group.serving(2, 20_000)).toBe(true)

  const key = await group.userWithKey({ id: 'u1', max_budget: 10 })
  const answered = group.chat(key, 100).then(async (r) => ({ status: r.status, body: await r.text() }), (e: Error) => ({ status: 0, body: String(e) }))
  // The provider has the call (the hold is written): the group is asked to stop.
  expect(await waitFor(5_000, () => mock.calls.length === 1)).toBe(true)
  group.primary.kill('SIGTERM')

  const res = await answered
  expect(await waitFor(20_000, () => group.primary.exitCode !== null)).toBe(true)
  const reader = new Database(group.dbPath, { readonly: true })
  cleanups.push(() => reader.close())
  const holdsLeft = (reader.query('SELECT count(*) AS n FROM reservations').get() as { n: number }).n
  const usageRows = (reader.query('SELECT count(*) AS n FROM usage').get() as { n: number }).n
  expect({ status: res.status, holdsLeft, usageRows, killed: /SIGKILL/.test(group.output()) }).toEqual({ status: 200, holdsLeft: 0, usageRows: 1, killed: false })
}, 60_000)

test('the bound fits a timer whatever the settings, on either store', () => {
  const longest = { shutdown_grace_ms: MAX_TIMER_MS, database_timeout_ms: MAX_TIMER_MS }
  expect(gatewayStopBoundMs({ ...longest, database_url: undefined })).toBe(MAX_TIMER_MS)
  expect(gatewayStopBoundMs({ ...longest, database_url: 'postgres://db/tollgate' })).toBe(MAX_TIMER_MS)
  expect(gatewayStopBoundMs({ shutdown_grace_ms: 10_000, database_timeout_ms: 5_000, database_url: undefined })).toBeLessThan(60_000)
})
