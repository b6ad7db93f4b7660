/**
 * The SQLite store's records queries run on a reader thread, one at a time, in order. A query whose caller hung up
 * (the request's AbortSignal aborted) before its turn came is dropped, rejected 499 client_closed_request, rather
 * than run for nobody behind the others; one already running ends as it would have.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { SqliteStore } from '../src/store/sqlite/store'
import { tempDir } from './support/gateway'

const dir = tempDir('tollgate-records-hung-up-')
let store: SqliteStore
beforeAll(() => {
  store = SqliteStore.open(join(dir, 'tollgate.db'))
})
afterAll(async () => {
  await store.close()
  rmSync(dir, { recursive: true, force: true })
})

const summary = { limit: 10 }
const outcome = (answer: Promise<unknown>) => answer.then(() => 'answered', (error) => error.code)

test('a records query whose caller hung up before its turn is dropped; the ones around it are answered', async () => {
  const hangsUp = new AbortController()
  const first = store.records.run('usageSummaryAndTotals', summary)
  const dropped = outcome(store.records.run('usageSummaryAndTotals', summary, hangsUp.signal))
  const last = store.records.run('usageSummaryAndTotals', summary, new AbortController().signal)
  hangsUp.abort()
  expect((await first).totals.requests).toBe(0)
  expect(await dropped).toBe('client_closed_request')
  expect((await last).totals.requests).toBe(0)
})

test('a records query asked for by a caller that already hung up is not run', async () => {
  const gone = AbortSignal.abort()
  expect(await outcome(store.records.run('usageRows', summary, gone))).toBe('client_closed_request')
})
