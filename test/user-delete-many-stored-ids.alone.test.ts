/**
 * DELETE /v1/users/:id takes the user's stored ids with it. An agent's kept conversation items can be millions;
 * a cascade over them is one statement of seconds on the request thread (and the write lock). They go first, a
 * batch at a time, then the user. Issue 15: no admin call delays a concurrent request by more than a few ms;
 * asserted with a bound generous for a busy machine.
 */
import { Database } from 'bun:sqlite'
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'
import { worstHealthDuring } from './support/health-during'

/** The agent's kept conversation items: a cascade over 300,000 held /health some 600 ms; over these, seconds. */
const ITEMS = 1_000_000

let mock: MockProvider
let gw: TestGateway
beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock })
  await gw.userWithKey({ id: 'agent', max_budget: 1000 })
  await gw.userWithKey({ id: 'other', max_budget: 1000 })
  const db = new Database(gw.dbPath)
  db.exec('PRAGMA busy_timeout = 10000')
  const insert = db.query(
    `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
     INSERT INTO stored_responses (id, kind, user_id, provider, model, created_at, expires_with)
     SELECT ?2 || i, 'item', ?3, 'mock', 'gpt-mock', ?4 + i, NULL FROM n`,
  )
  insert.run(ITEMS, 'msg_', 'agent', Date.now() - 86_400_000)
  insert.run(10, 'other_msg_', 'other', Date.now() - 86_400_000)
  db.exec('PRAGMA wal_checkpoint(TRUNCATE)')
  db.close()
}, 60_000)
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})

test('DELETE of a user with many stored conversation items does not hold /health up, and takes them all', async () => {
  const del = gw.admin('DELETE', '/v1/users/agent')
  const worst = await worstHealthDuring(gw.url, del)
  expect((await del).status).toBe(200)
  // A batch's few ms and a busy CI machine's scheduling stay far under the cascade's seconds.
  expect(worst).toBeLessThan(500)

  const db = new Database(gw.dbPath, { readonly: true })
  try {
    expect(db.query('SELECT user_id, count(*) AS n FROM stored_responses GROUP BY user_id').all()).toEqual([{ user_id: 'other', n: 10 }])
    expect(db.query("SELECT count(*) AS n FROM users WHERE id = 'agent'").get()).toEqual({ n: 0 })
  } finally {
    db.close()
  }
}, 60_000)
