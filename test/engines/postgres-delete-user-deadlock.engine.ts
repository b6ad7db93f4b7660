/**
 * PostgresStore.deleteUser runs its transaction under retryingConflicts, as the other admin writes that may meet
 * another transaction's locks in the other order: a deadlock is undone by Postgres and the DELETE runs again,
 * rather than answering the admin 500. Here another session locks the user's key first, then the user's row,
 * while the DELETE holds the user's row and waits for the key's (its foreign key cascade).
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from '../support/gateway'
import { startPostgres, type TestPostgres } from './support/postgres'

let pg: TestPostgres
let gw: TestGateway
let sql: InstanceType<typeof Bun.SQL>
beforeAll(async () => {
  pg = await startPostgres()
  const url = await pg.database('delete_user_deadlock')
  gw = await startTestGateway({ config: { database_url: url } })
  sql = new Bun.SQL(url, { max: 2 })
}, 60_000)
afterAll(async () => {
  await sql?.close()
  await gw?.stop()
  await pg?.destroy()
})

test('Postgres: a DELETE of a user that deadlocks with another transaction is run again: 200, the user and its key gone', async () => {
  const { keyId } = await gw.userWithKey({ id: 'delete-deadlock', max_budget: 10 })
  const other = await sql.reserve()
  try {
    await other`BEGIN`
    await other`SELECT 1 FROM api_keys WHERE id = ${keyId} FOR UPDATE`
    const deleted = gw.admin('DELETE', '/v1/users/delete-deadlock')
    // The DELETE now holds the user's row and waits for the key's, which its cascade deletes.
    await Bun.sleep(400)
    await other`SELECT 1 FROM users WHERE id = 'delete-deadlock' FOR UPDATE`
    await other`COMMIT`
    const res = await deleted
    const [{ users }] = await sql`SELECT count(*)::int AS users FROM users WHERE id = 'delete-deadlock'`
    const [{ keys }] = await sql`SELECT count(*)::int AS keys FROM api_keys WHERE id = ${keyId}`
    expect({ status: res.status, body: res.body, users, keys }).toEqual({ status: 200, body: { id: 'delete-deadlock', deleted: true }, users: 0, keys: 0 })
  } finally {
    other.release()
  }
}, 30_000)
