/**
 * Admin writes made outside the write queue wait for another process's write lock on the event loop
 * (WriteQueue.waitingForLock). Each try runs on the serving connection, whose busy handler holds the only thread
 * for LOCK_WAIT_MS (20 ms) before SQLITE_BUSY: while one write waits the lock out, the others wait for its next
 * try rather than make theirs too. Before, each tried on its own backoff: with ten writes waiting on a lock held
 * 1.5 s (a sibling worker's TRUNCATE checkpoint at its stop, an operator's sqlite3 shell), the thread that answers
 * /health and every inference request was blocked for stretches of ~10 × 20 ms (243–252 ms).
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { Database } from 'bun:sqlite'
import { startTestGateway, type TestGateway } from './support/gateway'
import { startMockProvider, type MockProvider } from './support/mock-provider'

let mock: MockProvider
let gw: TestGateway

beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock })
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})

test('ten admin writes waiting for another connection’s write lock do not stall the event loop for 10 x 20 ms at a time', async () => {
  const ids = Array.from({ length: 10 }, (_, i) => `stall-${i}`)
  for (const id of ids) await gw.admin('POST', '/v1/users', { id })
  await gw.settled()

  const other = new Database(gw.dbPath)
  other.exec('PRAGMA busy_timeout = 3000')
  other.exec('BEGIN IMMEDIATE')
  const released = Bun.sleep(1_500).then(() => {
    other.exec('ROLLBACK')
    other.close()
  })
  await Bun.sleep(20)

  // The longest the event loop went without running a 5 ms ticker, while the writes wait.
  let last = performance.now()
  let longestGap = 0
  const ticker = setInterval(() => {
    const now = performance.now()
    longestGap = Math.max(longestGap, now - last)
    last = now
  }, 5)
  const writes = Promise.all(ids.map((id) => gw.admin('PATCH', `/v1/users/${id}`, { max_budget: 5 })))
  await released
  const answers = await writes
  clearInterval(ticker)

  expect(answers.map((a) => a.status)).toEqual(ids.map(() => 200))
  // One busy-handler wait (20 ms) plus a busy machine's scheduling slack; not ten of them back to back (~240 ms).
  expect(longestGap).toBeLessThan(150)
}, 20_000)
