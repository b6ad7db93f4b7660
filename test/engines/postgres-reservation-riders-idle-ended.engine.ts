/**
 * Rows riding in a reservation batch (request-log rows, PostgresLedgerStore.carry) whose session Postgres ended for
 * idling in its transaction (idle_in_transaction_session_timeout, 25P03) before the COMMIT arrived: a gateway starved
 * between the batch's decision and its COMMIT. Nothing of the batch landed, so its riders are sent again, not dropped
 * as rows of a batch "whose commit was not answered (they may have been written)", which is right only when the
 * COMMIT may have reached Postgres.
 *
 * The starved gateway is made deterministic by a client that busies the thread, once, just before the batch sends its
 * holds' write (the decision is made, the session idles in its transaction), past the session's idle bound.
 */
import { SQL } from 'bun'
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { Ledger } from '../../src/budget/ledger'
import { BatchWriter, writeNotingCommit } from '../../src/store/postgres/batch'
import { PostgresLedgerStore } from '../../src/store/postgres/ledger-store'
import { PostgresStore } from '../../src/store/postgres/store'
import { holdFor } from '../support/ledger-contract'
import { startPostgres, type TestPostgres } from './support/postgres'

const IDLE_BOUND_MS = 300
const RIDE = `INSERT INTO rode (n) SELECT (x->>'n')::int FROM json_array_elements($1::text::json) AS x`

let pg: TestPostgres
beforeAll(async () => {
  pg = await startPostgres()
})
afterAll(async () => {
  await pg?.destroy()
})

/** `sql`, whose reserved connections busy the thread past the idle bound the first time `starveBefore` is about to be sent. */
function starvingOnce(sql: SQL, starveBefore: (query: string) => boolean): SQL {
  let starved = false
  const reserving = (c: any) =>
    new Proxy(c, {
      get(target, prop) {
        if (prop !== 'unsafe') return Reflect.get(target, prop)
        return (query: string, params?: unknown[]) => {
          if (!starved && starveBefore(query)) {
            starved = true
            const until = performance.now() + 2 * IDLE_BOUND_MS
            while (performance.now() < until);
          }
          return target.unsafe(query, params)
        }
      },
    })
  return new Proxy(sql, {
    get(target, prop) {
      if (prop === 'reserve') return async () => reserving(await target.reserve())
      return Reflect.get(target, prop)
    },
  })
}

test('a reservation batch whose session ended idle before its COMMIT arrived sends its riders again: nothing of it landed', async () => {
  const url = await pg.database('riders_idle_ended')
  const store = await PostgresStore.open(url)
  const sql = new SQL(url, { max: 2, connection: { idle_in_transaction_session_timeout: IDLE_BOUND_MS } })
  const errors: string[] = []
  const ledgerStore = new PostgresLedgerStore(
    starvingOnce(sql, (query) => query.includes('UPDATE users SET spend = x.spend')),
    (error) => errors.push(String(error)),
    5_000,
  )
  const riders = new BatchWriter<{ n: number }>(
    (rows) => writeNotingCommit(sql, (tx) => tx.unsafe(RIDE, [JSON.stringify(rows)])),
    (error) => errors.push(String(error)),
    { retry: 'uncommitted', what: 'riding row' },
  )
  ledgerStore.carry(riders, RIDE)
  try {
    const now = Date.now()
    await store.sql`CREATE TABLE rode (n int)`
    await store.sql`INSERT INTO users (id, max_budget, period_start, created_at, updated_at) VALUES ('u', 10000, 0, ${now}, ${now})`
    const ledger = new Ledger(ledgerStore, 60_000)

    // The row is queued as the hold is asked for: it rides in the hold's batch.
    riders.push({ n: 1 })
    const refused = await ledger.reserve(holdFor('u', 700), now).then(
      () => null,
      (error: unknown) => error,
    )
    expect((refused as { errno?: string } | null)?.errno).toBe('25P03')

    // Sent again on its own, once: written, and no line saying it was dropped.
    const deadline = Date.now() + 5_000
    while ((await store.sql`SELECT count(*)::int AS n FROM rode`)[0].n === 0 && Date.now() < deadline) await Bun.sleep(50)
    await Bun.sleep(200)
    const [user] = await store.sql`SELECT spend::int, reserved::int FROM users WHERE id = 'u'`
    expect({
      rows: (await store.sql`SELECT n FROM rode`).map((r: { n: number }) => r.n),
      user,
      holds: (await store.sql`SELECT count(*)::int AS n FROM reservations`)[0].n,
      dropped: errors.filter((e) => e.includes('not sent again')),
    }).toEqual({ rows: [1], user: { spend: 0, reserved: 0 }, holds: 0, dropped: [] })
  } finally {
    await ledgerStore.close(AbortSignal.timeout(2_000))
    await riders.close(AbortSignal.timeout(2_000))
    await sql.close().catch(() => {})
    await store.close()
  }
}, 30_000)
