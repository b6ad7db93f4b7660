/**
 * PostgresStore.updateKey runs its transaction under retryingConflicts, so that a deadlock with a transaction that
 * locks a key's hold before the key (the order every transaction of tollgate's takes is the other one, see
 * src/store/postgres/lock-order.ts; the sweeper's used to be this one, and an operator's session may be) is undone
 * by Postgres and run again. The transaction goes through drizzle, which wraps the driver's error in a
 * DrizzleQueryError: isConflict finds the SQLSTATE (40P01) inside it, and the admin's PATCH succeeds rather than
 * being answered 503 database_busy.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from '../support/mock-provider'
import { startTestGateway, type TestGateway } from '../support/gateway'
import { startPostgres, type TestPostgres } from './support/postgres'
import { waitFor } from '../support/wait-for'

let pg: TestPostgres
let mock: MockProvider
let gw: TestGateway
let sql: InstanceType<typeof Bun.SQL>
beforeAll(async () => {
  pg = await startPostgres()
  mock = startMockProvider({ latencyMs: 6_000 })
  const url = await pg.database('update_key_deadlock')
  gw = await startTestGateway({ mock, config: { database_url: url } })
  sql = new Bun.SQL(url, { max: 2 })
}, 60_000)
afterAll(async () => {
  await sql?.close()
  await gw?.stop()
  await mock?.stop()
  await pg?.destroy()
})

describe('Postgres: PATCH a key (max_budget) that deadlocks with a transaction holding its hold', () => {
  test('the deadlock is retried and the PATCH succeeds (200, max_budget set), not 503', async () => {
    const { secret, keyId } = await gw.userWithKey({ id: 'key-deadlock', max_budget: 10 })
    // A request in flight: its hold is a reservation row of the key.
    const inflight = fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'hi' }], max_tokens: 10 }),
    })
    const deadline = Date.now() + 3_000
    while ((await sql`SELECT count(*)::int AS n FROM reservations WHERE key_id = ${keyId}`)[0].n === 0) {
      if (Date.now() > deadline) throw new Error('no hold')
      await Bun.sleep(20)
    }
    // The reservation first, then its key (as the sweeper once did).
    const other = await sql.reserve()
    let patch: Promise<{ status: number; body: any }>
    try {
      await other`BEGIN`
      // Postgres undoes the side whose deadlock_timeout passes first: always the PATCH's (1 s) here, even when a loaded
      // machine lets the two waits begin within moments of each other.
      await other`SET LOCAL deadlock_timeout = '30s'`
      await other`SELECT 1 FROM reservations WHERE key_id = ${keyId} FOR UPDATE`
      const [{ pid }] = await other`SELECT pg_backend_pid() AS pid`
      patch = gw.admin('PATCH', `/v1/keys/${keyId}`, { max_budget: 5 })
      // The PATCH holds the user's and the key's rows and waits for the reservation's.
      const patchWaits = async () => (await sql`SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted AND ${pid} = ANY(pg_blocking_pids(pid))`)[0].n >= 1
      expect(await waitFor(10_000, patchWaits)).toBe(true)
      await other`SELECT 1 FROM api_keys WHERE id = ${keyId} FOR UPDATE`
      await other`COMMIT`
    } finally {
      other.release()
    }
    const res = await patch
    expect({ status: res.status, max_budget: res.body?.max_budget ?? res.body }).toEqual({ status: 200, max_budget: 5 })
    await inflight
  }, 30_000)
})
