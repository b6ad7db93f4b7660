/**
 * A key signing in to the console on Postgres while its user is deleted. The sign-in deleted the ended sessions
 * (locking their rows) and then inserted its own, whose foreign key takes FOR KEY SHARE on the key's row; a user's
 * deletion locks the user, then its keys (the cascade), then their sessions. With an ended session of that key
 * among those the sign-in deleted, each waited for the other: Postgres found the deadlock only after
 * deadlock_timeout (1 s) and undid one side. Session writes now follow the one order (lock-order.ts: users, keys,
 * then the rows that hang off a key): the key's row before any session's; and the sign-in skips ended sessions
 * another transaction holds, so that it never waits for a session's row (a deletion's cascade takes several in
 * an order of its own).
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from '../support/mock-provider'
import { startTestGateway, type TestGateway } from '../support/gateway'
import { startPostgres, type TestPostgres } from './support/postgres'

let pg: TestPostgres
let mock: MockProvider
let gw: TestGateway
let sql: InstanceType<typeof Bun.SQL>
const DEADLOCK_TIMEOUT_MS = 5_000

beforeAll(async () => {
  pg = await startPostgres()
  mock = startMockProvider()
  const url = await pg.database('session_lock_order')
  sql = new Bun.SQL(url, { max: 3 })
  // A deadlock costs its detector's wait: 5 s here, not 1, so that a loaded machine's lateness (a four-worker run
  // took 1.9 s without one) is told apart from it.
  await sql.unsafe(`ALTER DATABASE session_lock_order SET deadlock_timeout = '${DEADLOCK_TIMEOUT_MS}ms'`)
  gw = await startTestGateway({ mock, config: { database_url: url, log_level: 'silent' } })
}, 60_000)
afterAll(async () => {
  await sql?.close()
  await gw?.stop()
  await mock?.stop()
  await pg?.destroy()
})

const signInWith = (key: string) =>
  fetch(`${gw.url}/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json', origin: gw.url }, body: JSON.stringify({ key }) })

async function until(condition: () => Promise<boolean>, ms = 3_000) {
  for (const end = Date.now() + ms; Date.now() < end; await Bun.sleep(10)) if (await condition()) return true
  return false
}

test("a key signing in while its user is deleted, an ended session of the key among those the sign-in clears: both go through at once, no deadlock", async () => {
  const { secret, keyId } = await gw.userWithKey({ id: 'signing-in-deleted', max_budget: 10 })
  // Two ended sessions, in this order in the table: the key's own, then another (an admin's), whose deletion is
  // slowed down, so that the user's deletion begins while the sign-in is clearing ended sessions.
  await sql`INSERT INTO console_sessions (id, kind, key_id, key_hash, created_at, last_seen_at, expires_at) VALUES ('ended-key', 'key', ${keyId}, 'h', 0, 0, 0)`
  await sql`INSERT INTO console_sessions (id, kind, key_id, key_hash, created_at, last_seen_at, expires_at) VALUES ('ended-slow', 'admin', NULL, NULL, 0, 0, 0)`
  await sql.unsafe(`
    CREATE FUNCTION slow_session_delete() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN IF OLD.id = 'ended-slow' THEN PERFORM pg_sleep(0.3); END IF; RETURN OLD; END $$`)
  await sql.unsafe('CREATE TRIGGER slow_session_delete BEFORE DELETE ON console_sessions FOR EACH ROW EXECUTE FUNCTION slow_session_delete()')
  try {
    const signIn = signInWith(secret)
    // Until the sign-in is clearing the ended sessions (sleeping on the slow one).
    expect(await until(async () => (await sql`SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event = 'PgSleep'`)[0].n > 0)).toBe(true)
    const started = Date.now()
    const deletion = gw.admin('DELETE', '/v1/users/signing-in-deleted')
    const [signedIn, deleted] = await Promise.all([
      signIn.then((r) => ({ status: r.status, ms: Date.now() - started })),
      deletion.then((r) => ({ status: r.status, ms: Date.now() - started })),
    ])
    // Deadlocked, one waited for Postgres's deadlock detector (deadlock_timeout) and was undone (the deletion, then
    // run again).
    const fast = (ms: number) => ms < DEADLOCK_TIMEOUT_MS - 2_000
    expect({ signIn: signedIn.status, signInFast: fast(signedIn.ms), deleted: deleted.status < 300, deletionFast: fast(deleted.ms) }).toEqual({
      signIn: 200, signInFast: true, deleted: true, deletionFast: true,
    })
  } finally {
    await sql.unsafe('DROP TRIGGER slow_session_delete ON console_sessions')
    await sql.unsafe('DROP FUNCTION slow_session_delete()')
  }
  // The user went, its key and every session of that key with it: the one just made too.
  const [{ n }] = await sql`SELECT count(*)::int AS n FROM console_sessions WHERE key_id = ${keyId}`
  expect(n).toBe(0)
}, 30_000)

test('a sign-in does not wait for an ended session another transaction holds (a deletion\'s cascade takes them in its own order): it leaves it for the next', async () => {
  const { secret } = await gw.userWithKey({ id: 'signing-in-past-held', max_budget: 10 })
  await sql`INSERT INTO console_sessions (id, kind, key_id, key_hash, created_at, last_seen_at, expires_at) VALUES ('ended-held', 'admin', NULL, NULL, 0, 0, 0)`
  const holder = await sql.reserve()
  await holder`BEGIN`
  await holder`SELECT 1 FROM console_sessions WHERE id = 'ended-held' FOR UPDATE`
  let answered: { status: number; ms: number } | 'waiting'
  try {
    const started = Date.now()
    answered = await Promise.race([signInWith(secret).then((r) => ({ status: r.status, ms: Date.now() - started })), Bun.sleep(1_500).then(() => 'waiting' as const)])
  } finally {
    await holder`ROLLBACK`
    holder.release()
  }
  expect(answered).toEqual({ status: 200, ms: expect.any(Number) })
  // The next sign-in clears it.
  expect((await signInWith(secret)).status).toBe(200)
  const [{ n }] = await sql`SELECT count(*)::int AS n FROM console_sessions WHERE id = 'ended-held'`
  expect(n).toBe(0)
}, 30_000)
