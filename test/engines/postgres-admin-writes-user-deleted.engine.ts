/**
 * The admin writes that look a user (a key) up and then write, on Postgres, with another replica's DELETE of
 * that user (its keys go with it) under way in between, made deterministic by holding that transaction open
 * until the admin write is seen waiting for its lock: creating a key for the user or changing one of its keys
 * answers 404, never a 500 (a foreign-key failure; no row, presented as a key).
 * test/key-write-user-deleted.test.ts holds the same on SQLite.
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
