/**
 * The SQLite side of test/engines/postgres-sign-in-racing-block.engine.ts. In one process SQLite's writes are
 * serialized, but a sign-in read its user's `blocked` before it waited for the write lock (waitingForLock) to insert its
 * session, and another process on the file (a TOLLGATE_WORKERS sibling answering the admin) could block the user in
 * between: its delete of the user's sessions came before the insert, and unblocking the user later signed that browser
 * in again (README, "A key's session"). The sibling is a second connection here, holding the write lock while the
 * sign-in starts and blocking the user as updateUser does. The check is now made in the sign-in's IMMEDIATE
 * transaction, under the lock.
 */
import { Database } from 'bun:sqlite'
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'
import { startMockProvider, type MockProvider } from './support/mock-provider'

let mock: MockProvider
let gw: TestGateway
beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock })
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})

const signIn = (secret: string) =>
  fetch(`${gw.url}/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json', origin: gw.url }, body: JSON.stringify({ key: secret }) })

test('a sign-in waiting for the write lock while another process blocks its user makes no session that unblocking revives', async () => {
  const userId = 'blocked-by-sibling'
  const { secret, keyId } = await gw.userWithKey({ id: userId })
  const sibling = new Database(gw.dbPath)
  let signedIn: Response
  try {
    sibling.run('BEGIN IMMEDIATE')
    const signingIn = signIn(secret)
    await Bun.sleep(300)
    sibling.run('UPDATE users SET blocked = 1 WHERE id = ?', [userId])
    sibling.run('DELETE FROM console_sessions WHERE key_id IN (SELECT id FROM api_keys WHERE user_id = ?)', [userId])
    sibling.run('COMMIT')
    signedIn = await signingIn
  } finally {
    if (sibling.inTransaction) sibling.run('ROLLBACK')
    sibling.close()
  }
  const { n } = gw.query<{ n: number }>('SELECT count(*) AS n FROM console_sessions WHERE key_id = ?', keyId)[0]!
  expect({ status: signedIn.status, sessionRowsAfterBlock: n }).toEqual({ status: 401, sessionRowsAfterBlock: 0 })
  const cookie = signedIn.headers.get('set-cookie')?.split(';', 1)[0]
  expect((await gw.admin('PATCH', `/v1/users/${userId}`, { blocked: false })).status).toBe(200)
  if (cookie) expect(await (await fetch(`${gw.url}/v1/key`, { headers: { cookie } })).status).toBe(401)
})

test('in one process a block and a sign-in waiting out the same lock each see the other: no session outlives the block', async () => {
  const userId = 'blocked-in-process'
  const { secret, keyId } = await gw.userWithKey({ id: userId })
  const other = new Database(gw.dbPath)
  let answers: [Response, Awaited<ReturnType<TestGateway['admin']>>]
  try {
    // Another process's lock (a backup, an operator's sqlite3): the sign-in and then the block wait it out.
    other.run('BEGIN IMMEDIATE')
    const signingIn = signIn(secret)
    await Bun.sleep(200)
    const blocking = gw.admin('PATCH', `/v1/users/${userId}`, { blocked: true })
    await Bun.sleep(200)
    other.run('COMMIT')
    answers = await Promise.all([signingIn, blocking])
  } finally {
    if (other.inTransaction) other.run('ROLLBACK')
    other.close()
  }
  const [signedIn, block] = answers
  const { n } = gw.query<{ n: number }>('SELECT count(*) AS n FROM console_sessions WHERE key_id = ?', keyId)[0]!
  expect({ block: block.status, signIn: [200, 401].includes(signedIn.status), sessionRowsAfterBlock: n }).toEqual({ block: 200, signIn: true, sessionRowsAfterBlock: 0 })
})

test('a key that expires while its sign-in waits for the write lock signs nobody in', async () => {
  const { secret, keyId } = await gw.userWithKey({ id: 'expires-while-signing-in' }, { expires_at: new Date(Date.now() + 1_000).toISOString() })
  const other = new Database(gw.dbPath)
  let signedIn: Response
  try {
    other.run('BEGIN IMMEDIATE')
    const signingIn = signIn(secret)
    await Bun.sleep(1_300)
    other.run('COMMIT')
    signedIn = await signingIn
  } finally {
    if (other.inTransaction) other.run('ROLLBACK')
    other.close()
  }
  const { n } = gw.query<{ n: number }>('SELECT count(*) AS n FROM console_sessions WHERE key_id = ?', keyId)[0]!
  expect({ status: signedIn.status, sessions: n }).toEqual({ status: 401, sessions: 0 })
})
