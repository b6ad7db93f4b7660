/**
 * A stop on Postgres writes what is queued within one deadline (README, Postgres: a stop). A settlement still
 * queued when the store closes that meets one dropped connection (a pooled connection a proxy or Postgres
 * closed, a failover) is tried again within that deadline, after the writer's usual pause (500 ms), not given
 * up on at once, which left the hold open for the sweeper to charge in full.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { Ledger } from '../../src/budget/ledger'
import { PostgresStore } from '../../src/store/postgres/store'
import { startPostgres, type TestPostgres } from './support/postgres'
import { startTcpRelay } from './support/tcp-relay'

let pg: TestPostgres
beforeAll(async () => {
  pg = await startPostgres()
})
afterAll(async () => {
  await pg?.destroy()
})

test('a settlement queued at the stop is written though the first try at the close meets a dropped connection: the hold is not left for the sweeper', async () => {
  const url = await pg.database('stop_retries_settlements')
  // Drops the connection that receives the next `cut` answers from Postgres (one reset, then the database is fine).
  let cut = 0
  const relay = startTcpRelay(pg.port, { onServerChunk: () => (cut > 0 ? (cut--, 'cut') : undefined) })
  const errors: string[] = []
  const DEADLINE = 3_000
  const store = await PostgresStore.open(url.replace(`:${pg.port}/`, `:${relay.port}/`), (e) => errors.push(String((e as Error)?.message ?? e)), DEADLINE)
  const direct = new Bun.SQL(url)
  try {
    const now = Date.now()
    await store.sql`INSERT INTO users (id, max_budget, period_start, created_at, updated_at) VALUES ('u', 100000000, 0, ${now}, ${now})`
    const ledger = new Ledger(store.ledger, 900_000)
    const hold = await ledger.reserve({
      requestId: 'r1', userId: 'u', keyId: null, keyHash: null, amount: 5_000, model: 'p:m', provider: 'p', endpoint: '/v1/chat/completions', priceId: null, stream: false,
    })
    // The call ended as the stop began (answered, or cut at the grace's end): its real cost is 1 234 µUSD.
    ledger.settle(hold.taken, { cost: 1_234, promptTokens: 1, completionTokens: 1, cachedTokens: 0, status: 'ok', latencyMs: 1 })
    cut = 1
    const started = Date.now()
    await store.close()
    const closeMs = Date.now() - started

    const [user] = await direct`SELECT spend::int AS spend, reserved::int AS reserved FROM users WHERE id = 'u'`
    const [{ n: openHolds }] = await direct`SELECT count(*)::int AS n FROM reservations`
    const usage = await direct`SELECT cost::int AS cost, status FROM usage`
    // Settled at its real cost by the process that took it, within the close's deadline; not left reserved in
    // full for the sweeper to charge as `expired` (5 000 µUSD) 15 minutes later.
    expect({ openHolds, spend: user.spend, reserved: user.reserved, usage: [...usage], closedWithinDeadline: closeMs < DEADLINE + 500 }).toEqual({
      openHolds: 0,
      spend: 1_234,
      reserved: 0,
      usage: [{ cost: 1_234, status: 'ok' }],
      closedWithinDeadline: true,
    })
  } finally {
    await direct.close()
    relay.stop()
  }
}, 60_000)
