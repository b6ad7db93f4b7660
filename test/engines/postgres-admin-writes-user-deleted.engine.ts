/**
 * The admin writes that look a user (a key) up and then write, on Postgres, with another replica's transaction
 * on the same user in between, made deterministic by holding that transaction open until the admin write is
 * seen waiting for its lock:
 * - a DELETE of the user (its keys go with it) under way: creating a key for it, changing one of its keys, or
 *   deleting it again answers 404, never a 500 (a foreign-key failure; no row, presented as a key) nor a 409;
 * - a reservation under way (its user's row locked, a hold of 0 written, as for a free model): DELETE
 *   /v1/users answers 409 and deletes nothing. Under READ COMMITTED a DELETE that waited for the row would
 *   judge the holds by the snapshot it began with, and miss that one.
 * test/key-write-user-deleted.test.ts holds the first on SQLite.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from '../support/gateway'
import { startPostgres, type TestPostgres } from './support/postgres'

type Sql = InstanceType<typeof Bun.SQL>

let pg: TestPostgres
let gw: TestGateway
let sql: Sql
beforeAll(async () => {
  pg = await startPostgres()
  const url = await pg.database('admin_writes_user_deleted')
  gw = await startTestGateway({ config: { database_url: url } })
  sql = new Bun.SQL(url)
})
afterAll(async () => {
  await sql?.close()
  await gw?.stop()
  await pg?.destroy()
})

/** Until another session of this database waits for a row lock (the admin write, behind `tx`). */
async function someoneWaitsForALock() {
  const waiting = async () =>
    Number((await sql`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`)[0].n)
  for (let i = 0; i < 300 && (await waiting()) === 0; i++) await Bun.sleep(10)
  expect(await waiting()).toBe(1)
}

/** Runs `inTransaction` in a transaction, starts `request` once it has, and commits once the request waits for its locks. */
async function whileAnotherTransaction<T>(inTransaction: (tx: Sql) => Promise<unknown>, request: () => Promise<T>): Promise<T> {
  await gw.settled()
  let answer!: Promise<T>
  await sql.begin(async (tx) => {
    await inTransaction(tx as unknown as Sql)
    answer = request()
    await someoneWaitsForALock()
  })
  return answer
}

const deleteUser = (id: string) => (tx: Sql) => tx`DELETE FROM users WHERE id = ${id}`

test('Postgres: POST /v1/keys for a user another replica is deleting → 404 user_not_found, and no key', async () => {
  await gw.admin('POST', '/v1/users', { id: 'gone-on-create' })
  const r = await whileAnotherTransaction(deleteUser('gone-on-create'), () => gw.admin('POST', '/v1/keys', { user_id: 'gone-on-create' }))
  expect([r.status, r.body?.error?.code]).toEqual([404, 'user_not_found'])
  expect(Number((await sql`SELECT count(*)::int AS n FROM api_keys WHERE user_id = 'gone-on-create'`)[0].n)).toBe(0)
})

test('Postgres: PATCH /v1/keys/{id} of a key whose user another replica is deleting → 404 key_not_found (with or without a ceiling given)', async () => {
  for (const [i, body] of [{ name: 'renamed' }, { max_budget: 1 }].entries()) {
    const { keyId } = await gw.userWithKey({ id: `gone-on-patch-${i}` })
    const r = await whileAnotherTransaction(deleteUser(`gone-on-patch-${i}`), () => gw.admin('PATCH', `/v1/keys/${keyId}`, body))
    expect([body, r.status, r.body?.error?.code]).toEqual([body, 404, 'key_not_found'])
  }
})

test('Postgres: DELETE /v1/users/{id} of a user another replica is deleting → 404 user_not_found, not 409', async () => {
  await gw.admin('POST', '/v1/users', { id: 'gone-twice' })
  const r = await whileAnotherTransaction(deleteUser('gone-twice'), () => gw.admin('DELETE', '/v1/users/gone-twice'))
  expect([r.status, r.body?.error?.code]).toEqual([404, 'user_not_found'])
})

test('Postgres: DELETE /v1/users/{id} while a reservation of 0 for it commits → 409, the user and its hold kept', async () => {
  // The row only locked (a batch that leaves it as it was), or written back too (a batch that writes its figures).
  for (const rewritten of [false, true]) {
    const id = `busy-${rewritten}`
    await gw.admin('POST', '/v1/users', { id })
    const reserve = async (tx: Sql) => {
      await tx`SELECT 1 FROM users WHERE id = ${id} FOR UPDATE`
      if (rewritten) await tx`UPDATE users SET reserved = reserved WHERE id = ${id}`
      const now = Date.now()
      await tx`INSERT INTO reservations (id, request_id, user_id, key_id, amount, model, provider, endpoint, price_id, stream, created_at, expires_at, key_debited)
        VALUES (${rewritten ? 2 : 1}, 'req', ${id}, NULL, 0, 'free', 'mock', 'chat', NULL, false, ${now}, ${now + 600_000}, false)`
    }
    const r = await whileAnotherTransaction(reserve, () => gw.admin('DELETE', `/v1/users/${id}`))
    expect([rewritten, r.status, r.body?.error?.code]).toEqual([rewritten, 409, 'conflict'])
    expect((await gw.admin('GET', `/v1/users/${id}`)).status).toBe(200)
    expect(Number((await sql`SELECT count(*)::int AS n FROM reservations WHERE user_id = ${id}`)[0].n)).toBe(1)
  }
})
