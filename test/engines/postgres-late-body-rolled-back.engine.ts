/**
 * Mutation guard (src/store/postgres/deadlines.ts boundedTransaction): a transaction whose caller was refused 503 at
 * the deadline "is rolled back when its work ends, not committed behind the caller's back" (README: "a transaction
 * that outlives it … is rolled back when it ends rather than committed after its caller was refused"). The existing
 * guards hold a row lock (which the session's lock_timeout, equal to the deadline, ends anyway) or slow the COMMIT
 * itself; none has a statement of the body answered after the deadline, so the check after the body went unguarded.
 *
 * Kills: dropping `if (late) throw new Error('transaction rolled back: …')` after `await body(tx)`.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { sql } from 'drizzle-orm'
import { PostgresStore } from '../../src/store/postgres/store'
import { startPostgres, type TestPostgres } from './support/postgres'
import { startTcpRelay } from './support/tcp-relay'

const DEADLINE = 400
let pg: TestPostgres
beforeAll(async () => {
  pg = await startPostgres()
}, 60_000)
afterAll(async () => {
  await pg?.destroy()
})

test('an admin write whose statements are answered only after its 503 is rolled back, not committed', async () => {
  const url = await pg.database('pg_guard_late_body')
  const relay = startTcpRelay(pg.port)
  const store = await PostgresStore.open(url.replace(`:${pg.port}/`, `:${relay.port}/`), () => {}, DEADLINE)
  const direct = new Bun.SQL(url, { max: 1 })
  try {
    const now = Date.now()
    const started = performance.now()
    let bodyEnded = false
    const outcome = await store
      .write(async (tx: any) => {
        await tx.execute(sql`INSERT INTO users (id, max_budget, period_start, created_at, updated_at) VALUES ('late', 1000, 0, ${now}, ${now})`)
        // A statement of the body that Postgres answers only well after the deadline (a stalled disk, a slow plan):
        // not idle in the transaction, and waiting for no lock, so neither session bound ends it.
        await tx.execute(sql`SELECT pg_sleep(${(DEADLINE * 3) / 1000})`)
        bodyEnded = true
      })
      .then(
        () => 'committed',
        (e) => `refused ${(e as { status?: number }).status}`,
      )
    expect(outcome).toBe('refused 503')
    expect(performance.now() - started).toBeLessThan(DEADLINE * 2)
    // The statement ends, and the body with it: what it wrote must not land.
    for (let i = 0; i < 100 && !bodyEnded; i++) await Bun.sleep(20)
    expect(bodyEnded).toBe(true)
    await Bun.sleep(300)
    const rows = await direct`SELECT id FROM users WHERE id = 'late'`
    expect(rows.length).toBe(0)
  } finally {
    relay.thaw()
    await store.close()
    await direct.close()
    relay.stop()
  }
}, 60_000)
