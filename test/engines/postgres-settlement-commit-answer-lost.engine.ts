/**
 * Postgres ledger: a settlement batch whose COMMIT committed but whose answer was lost with its connection (a TCP
 * reset, a pgbouncer drop, a failover) is sent again, and the retry finds its holds gone (a hold settles once). The
 * charge is in the ledger and its usage row; the observer (src/metrics/settlement-observers.ts: the cost, token,
 * settlement and unbilled counters, and their `warn` lines) is told of it once too, as of every other charge: its
 * own usage row says it landed, not a sweep.
 */
import { afterAll, afterEach, beforeAll, beforeEach, expect, test } from 'bun:test'
import { Ledger, type Outcome, type PastSweptHold } from '../../src/budget/ledger'
import { PostgresStore } from '../../src/store/postgres/store'
import { holdFor } from '../support/ledger-contract'
import { startPostgres, type TestPostgres } from './support/postgres'
import { commitCutter } from './support/commit-cutter'

let pg: TestPostgres
beforeAll(async () => {
  pg = await startPostgres()
})
afterAll(async () => {
  await pg?.destroy()
})

let store: PostgresStore
let direct: InstanceType<typeof Bun.SQL>
let proxy: ReturnType<typeof commitCutter>
let ledger: Ledger
const [observed, pastSwept]: [Outcome[], PastSweptHold[]] = [[], []]
beforeEach(async () => {
  const url = await pg.database('settle_commit_answer_lost')
  proxy = commitCutter(pg.port)
  store = await PostgresStore.open(url.replace(`:${pg.port}/`, `:${proxy.port}/`), () => {}, 2_000)
  direct = new Bun.SQL(url)
  ledger = new Ledger(store.ledger, 60_000, (_hold, outcome) => observed.push(outcome), (_hold, unbilled) => pastSwept.push(unbilled))
  const now = Date.now()
  await direct`INSERT INTO users (id, max_budget, period_start, created_at, updated_at) VALUES ('u', 1000000, 0, ${now}, ${now})`
})
afterEach(async () => {
  await store.close().catch(() => {})
  await direct.close()
  proxy.stop()
})

test('a settlement committed with its answer lost is told to the observer once, as a charge, with its unbilled excess', async () => {
  const hold = await ledger.reserve(holdFor('u', 5_000))
  // A usage past the hold with cap-output on: charged 3,000 µ$, 40,000 input tokens left unbilled.
  const outcome: Outcome = { cost: 3_000, promptTokens: 41_000, completionTokens: 10, cachedTokens: 0, status: 'ok', latencyMs: 5, unbilledInputTokens: 40_000 }
  proxy.arm()
  hold.settle(outcome)
  for (let i = 0; i < 60; i++) {
    await ledger.flush().catch(() => {})
    const [{ n }] = await direct`SELECT count(*)::int AS n FROM reservations`
    if (n === 0 && proxy.cuts() === 1) break
    await Bun.sleep(50)
  }
  await ledger.flush().catch(() => {})
  await Bun.sleep(200)
  expect(proxy.cuts()).toBe(1)
  // The ledger charged it once: spend 3,000, one usage row.
  const [u] = await direct`SELECT spend::int, reserved::int FROM users WHERE id = 'u'`
  const [{ rows }] = await direct`SELECT count(*)::int AS rows FROM usage`
  expect({ spend: u.spend, reserved: u.reserved, rows }).toEqual({ spend: 3_000, reserved: 0, rows: 1 })
  // ... and the observer is told so: a charge, not a settlement a sweep got to first.
  expect(observed.map((o) => ({ cost: o.cost, unbilledInputTokens: o.unbilledInputTokens }))).toEqual([{ cost: 3_000, unbilledInputTokens: 40_000 }])
  expect(pastSwept).toEqual([])
}, 30_000)
