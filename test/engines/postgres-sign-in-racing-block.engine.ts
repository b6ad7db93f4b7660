/**
 * Red team ju, on a6ab5bd3. README ("A key's session"): blocking a user deletes its keys' sessions, "so neither
 * unblocking the user nor giving the key a later expiry signs a browser in again". A sign-in read `blocked` (no lock),
 * then inserted its session in a transaction of its own; the block's DELETE ran in between and could not see the
 * uncommitted (or not yet made) row. Any wait between the two made the window: here the key's row is held FOR UPDATE,
 * as a reservation batch or settlement of that key's own requests holds it through its commit, so the sign-in's insert
 * (FOR KEY SHARE on the key) waited for it. The block was answered 200 meanwhile, the sign-in landed after it with a
 * session of the blocked user, refused while the block lasted, and live again once the user was unblocked.
 *
 * The sign-in now checks the user and key in the transaction that writes its session, after locking the user's row
 * (FOR KEY SHARE) and the key's: a block under way is waited for and then seen, and a block that comes later waits for
 * the sign-in and deletes its session. (The red team's version answered the block before releasing the key's row; a
 * block now waits for the sign-in, which waits for that row: the holder lets go while the block is in flight.)
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { SQL } from 'bun'
import { startTestGateway, type TestGateway } from '../support/gateway'
import { startMockProvider, type MockProvider } from '../support/mock-provider'
import { startPostgres, type TestPostgres } from './support/postgres'

let pg: TestPostgres
let mock: MockProvider
let gw: TestGateway
let url: string

beforeAll(async () => {
  pg = await startPostgres()
  mock = startMockProvider()
  url = await pg.database('sign_in_outlives_block')
  gw = await startTestGateway({ mock, config: { database_url: url, log_level: 'silent' } })
}, 60_000)
afterAll(async () => {
  await gw?.stop()
  await mock?.stop()
  await pg?.destroy()
})

const readOwnKey = async (cookie: string) => (await fetch(`${gw.url}/v1/key`, { headers: { cookie } })).status
const signIn = (secret: string) =>
  fetch(`${gw.url}/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json', origin: gw.url }, body: JSON.stringify({ key: secret }) })

test('a sign-in that read the user unblocked just before a block leaves no session that unblocking revives', async () => {
  const userId = 'signs-in-as-blocked'
  const { secret, keyId } = await gw.userWithKey({ id: userId })
  const direct = new SQL(url)
  const holder = await direct.reserve()
  let answers: [Response, Awaited<ReturnType<TestGateway['admin']>>]
  try {
    await holder`BEGIN`
    await holder`SELECT 1 FROM api_keys WHERE id = ${keyId} FOR UPDATE`
    const signingIn = signIn(secret)
    await Bun.sleep(300)
    // The admin blocks the user while the sign-in waits; the reservation commits soon after.
    const blocking = gw.admin('PATCH', `/v1/users/${userId}`, { blocked: true })
    await Bun.sleep(300)
    await holder`COMMIT`
    answers = await Promise.all([signingIn, blocking])
  } finally {
    await holder`ROLLBACK`.catch(() => {})
    holder.release()
  }
  const [signedIn, block] = answers
  expect(block.status).toBe(200)
  const cookie = signedIn.headers.get('set-cookie')?.split(';', 1)[0]
  const [{ n }] = await direct`SELECT count(*)::int AS n FROM console_sessions WHERE key_id = ${keyId}`
  await direct.close()
  // Signed in before the block or refused after it: either way the block leaves the user no session.
  expect({ signIn: [200, 401].includes(signedIn.status), sessionRowsAfterBlock: n }).toEqual({ signIn: true, sessionRowsAfterBlock: 0 })
  expect((await gw.admin('PATCH', `/v1/users/${userId}`, { blocked: false })).status).toBe(200)
  if (cookie) expect(await readOwnKey(cookie)).toBe(401)
}, 60_000)

test('a sign-in waiting on its key while its user is blocked is refused once the block commits, and makes no session', async () => {
  const userId = 'blocked-while-signing-in'
  const { secret, keyId } = await gw.userWithKey({ id: userId })
  const direct = new SQL(url)
  const holder = await direct.reserve()
  try {
    // The block's transaction holds the user's row (FOR UPDATE, as updateUser takes it) while the sign-in starts.
    await holder`BEGIN`
    await holder`SELECT 1 FROM users WHERE id = ${userId} FOR UPDATE`
    const signingIn = signIn(secret)
    await Bun.sleep(300)
    await holder`UPDATE users SET blocked = true WHERE id = ${userId}`
    await holder`DELETE FROM console_sessions WHERE key_id IN (SELECT id FROM api_keys WHERE user_id = ${userId})`
    await holder`COMMIT`
    expect((await signingIn).status).toBe(401)
  } finally {
    await holder`ROLLBACK`.catch(() => {})
    holder.release()
  }
  const [{ n }] = await direct`SELECT count(*)::int AS n FROM console_sessions WHERE key_id = ${keyId}`
  await direct.close()
  expect(n).toBe(0)
}, 60_000)

test('a key that expires while its sign-in waits for the key\'s row signs nobody in', async () => {
  const { secret, keyId } = await gw.userWithKey({ id: 'expires-while-signing-in' }, { expires_at: new Date(Date.now() + 1_000).toISOString() })
  const direct = new SQL(url)
  const holder = await direct.reserve()
  let signedIn: Response
  try {
    // A reservation of the key's own holds its row until the key has expired.
    await holder`BEGIN`
    await holder`SELECT 1 FROM api_keys WHERE id = ${keyId} FOR UPDATE`
    const signingIn = signIn(secret)
    await Bun.sleep(1_300)
    await holder`COMMIT`
    signedIn = await signingIn
  } finally {
    await holder`ROLLBACK`.catch(() => {})
    holder.release()
  }
  const [{ n }] = await direct`SELECT count(*)::int AS n FROM console_sessions WHERE key_id = ${keyId}`
  await direct.close()
  expect({ status: signedIn.status, sessions: n }).toEqual({ status: 401, sessions: 0 })
}, 60_000)
