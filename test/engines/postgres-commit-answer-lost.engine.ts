/**
 * Postgres ledger: a reservation batch whose COMMIT reached the server and committed, but whose answer was
 * lost with the connection (a TCP reset, a proxy or pgbouncer dropping it, a failover) before the deadline.
 * Its caller is refused (the provider is never called), so the hold it committed must be released at no
 * charge, not left open for the sweeper to charge in full as `expired` for a request that was never served.
 * The request-log rows the batch carried (they ride in its transaction) are not sent again: they may be written
 * already, and SPEC §8 wants one api_request_log row per /v1/* request (its settlements are: a hold settles once).
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'bun:test'
import { Ledger } from '../../src/budget/ledger'
import { PostgresStore } from '../../src/store/postgres/store'
import { holdFor } from '../support/ledger-contract'
import { startPostgres, type TestPostgres } from './support/postgres'
import { commitCutter } from './support/commit-cutter'

let pg: TestPostgres
let n = 0
beforeAll(async () => {
  pg = await startPostgres()
})
afterAll(async () => {
  await pg?.destroy()
})

describe('Postgres ledger: a reservation batch that committed but whose answer was lost with its connection', () => {
  let store: PostgresStore
  let direct: InstanceType<typeof Bun.SQL>
  let proxy: ReturnType<typeof commitCutter>
  let ledger: Ledger
  beforeEach(async () => {
    const url = await pg.database(`rdh_commit_lost_${++n}`)
    proxy = commitCutter(pg.port)
    store = await PostgresStore.open(url.replace(`:${pg.port}/`, `:${proxy.port}/`), () => {}, 2_000)
    direct = new Bun.SQL(url)
    ledger = new Ledger(store.ledger, 60_000)
    const now = Date.now()
    await direct`INSERT INTO users (id, max_budget, period_start, created_at, updated_at) VALUES ('u', 1000, 0, ${now}, ${now})`
  })
  afterEach(async () => {
    await store.close().catch(() => {})
    await direct.close()
    proxy.stop()
  })
  const state = async () => {
    const [u] = await direct`SELECT spend::int, reserved::int FROM users WHERE id = 'u'`
    const holds = await direct`SELECT amount::int FROM reservations ORDER BY amount`
    return { spend: u.spend, reserved: u.reserved, holds: holds.map((h: any) => h.amount) }
  }

  test('the refused caller\'s committed hold is released, not left open for the sweeper to charge in full', async () => {
    const first = await ledger.reserve(holdFor('u', 100))
    // The figures are known now: the next batch goes in one round trip, COMMIT included (expectedBatch).
    proxy.arm()
    const refused = await ledger.reserve(holdFor('u', 200)).then(() => null, (e) => String(e?.message ?? e))
    expect(proxy.cuts()).toBe(1)
    // The caller was refused: its provider is never called.
    expect(refused).not.toBeNull()
    // The batch did commit on the server.
    first.release(1)
    for (let i = 0; i < 60; i++) {
      await ledger.flush().catch(() => {})
      const s = await state()
      if (!s.holds.includes(100) && !s.holds.includes(200)) break
      await Bun.sleep(50)
    }
    // Past the TTL the sweeper settles whatever is still held, at its full amount.
    await ledger.sweep(Date.now() + 120_000)
    await ledger.flush().catch(() => {})
    // Correct: the refused request is charged nothing (today: spend 200, an `expired` row for a request never served).
    expect(await state()).toEqual({ spend: 0, reserved: 0, holds: [] })
  }, 30_000)

  test('the request-log rows it carried are written once, not again after the lost answer', async () => {
    const first = await ledger.reserve(holdFor('u', 100))
    first.release(1)
    await ledger.flush()
    // Queued in the same turn as the next hold: it rides in that reservation batch.
    store.appendRequestLog({ createdAt: Date.now(), requestId: 'req-once', method: 'POST', route: '/v1/chat/completions', status: 503, latencyMs: 1, clientIp: null, keyId: null, userId: 'u' })
    proxy.arm()
    const refused = await ledger.reserve(holdFor('u', 200)).then(() => null, (e) => String(e?.message ?? e))
    expect(proxy.cuts()).toBe(1)
    expect(refused).not.toBeNull()
    for (let i = 0; i < 20; i++) {
      await store.flush().catch(() => {})
      await Bun.sleep(50)
    }
    const [{ rows }] = await direct`SELECT count(*)::int AS rows FROM api_request_log WHERE request_id = 'req-once'`
    // One row: the committed one, not written a second time.
    expect(rows).toBe(1)
  }, 30_000)
})
