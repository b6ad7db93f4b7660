/**
 * Postgres: the settlement of a request that ends as the gateway stops, its hold swept first by another replica (a
 * request running past the TTL), is written by the stop's last batch; its hold found gone, the store asks LANDED
 * whether it landed (tellGone). The stop waits for that read, as a flush does, before the pool closes (`timeout: 0`):
 * cut, it reported `Connection closed` at every such stop, and the settlement was told nothing, so its unbilled excess
 * (README, Overshoot: every unbilled excess is logged and counted) was never logged.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { Ledger, type Outcome, type PastSweptHold } from '../../src/budget/ledger'
import { PostgresStore } from '../../src/store/postgres/store'
import { holdFor } from '../support/ledger-contract'
import { startPostgres, type TestPostgres } from './support/postgres'

let pg: TestPostgres
beforeAll(async () => {
  pg = await startPostgres()
})
afterAll(async () => {
  await pg?.destroy()
})

test('a swept-first settlement written at the stop is still told, and the stop reports no error', async () => {
  const url = await pg.database('landed_at_stop')
  const errors: unknown[] = []
  const store = await PostgresStore.open(url, (e) => errors.push(e), 3_000)
  const other = await PostgresStore.open(url, () => {}, 3_000)
  const direct = new Bun.SQL(url)
  try {
    const now = Date.now()
    await direct`INSERT INTO users (id, max_budget, period_start, created_at, updated_at) VALUES ('u', NULL, 0, ${now}, ${now})`
    const [charged, pastSwept]: [Outcome[], PastSweptHold[]] = [[], []]
    const ledger = new Ledger(store.ledger, 60_000, (_h, o) => charged.push(o), (_h, u) => pastSwept.push(u))
    // Reserved an hour ago: expired, and swept by another replica while its request still runs.
    const hold = await ledger.reserve({ ...holdFor('u', 300), heldTokens: { promptTokens: 100, completionTokens: 50 } }, now - 3_600_000)
    expect(await new Ledger(other.ledger, 60_000).sweep(now)).toBe(1)
    // The request ends as the gateway stops.
    hold.settle({ cost: 420, promptTokens: 150, completionTokens: 80, cachedTokens: 0, status: 'ok', latencyMs: 900 })
    await store.close()
    expect(errors.map(String)).toEqual([])
    expect(charged).toEqual([])
    expect(pastSwept).toEqual([{ unbilledInputTokens: 50, unbilledOutputTokens: 30, unbilledCost: 120 }])
  } finally {
    await store.close().catch(() => {})
    await other.close().catch(() => {})
    await direct.close()
  }
}, 60_000)
