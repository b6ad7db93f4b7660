/**
 * A Postgres that answers but cannot take a hold: it takes no writes (a failed-over primary now a hot standby,
 * or `default_transaction_read_only` set while a replica is rebuilt: SQLSTATE 25006), has no connection left for
 * the gateway's role (53300, which Bun names ERR_POSTGRES_SERVER_ERROR like any server error), or has no room on
 * its disk (53100). No provider call is made without a hold, and the client must be told the database cannot
 * take it: 503 database_unavailable with Retry-After (SPEC §11: "Postgres down → no provider call without a hold
 * (503)"), or 503 database_full as SQLite's full disk (SQLITE_FULL) is — never a 500 internal_error logged as an
 * unhandled bug. A read-only database is unhealthy too: /health must not say 200 while every hold fails, or a
 * load balancer keeps sending the replica traffic. /metrics says the same: the database up (it answers reads) and
 * read-only (`tollgate_database_read_only`).
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from '../support/mock-provider'
import { MASTER_KEY, startTestGateway } from '../support/gateway'
import { startPostgres, type TestPostgres } from './support/postgres'

let pg: TestPostgres
let mock: MockProvider
beforeAll(async () => {
  pg = await startPostgres()
  mock = startMockProvider()
})
afterAll(async () => {
  mock?.stop()
  await pg?.destroy()
})

const chat = (url: string, secret: string) =>
  fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'hi' }], max_tokens: 20 }),
  })

/** One chat refused before its provider is called: its status, error code and Retry-After. */
async function refusedChat(url: string, secret: string) {
  const callsBefore = mock.calls.length
  const res = await chat(url, secret)
  const body = (await res.json()) as { error?: { code?: string } }
  expect(mock.calls.length).toBe(callsBefore)
  return { status: res.status, code: body.error?.code, retryAfter: res.headers.get('retry-after') }
}

const health = async (url: string) => {
  const res = await fetch(`${url}/health`)
  return { status: res.status, body: await res.json() }
}
const databaseGauges = async (url: string) => {
  const text = await (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${MASTER_KEY}` } })).text()
  return text.split('\n').filter((line) => /^tollgate_database_(up|read_only) /.test(line))
}

test('a read-only Postgres (standby, default_transaction_read_only): the hold is refused 503 database_unavailable, /health says 503', async () => {
  const url = await pg.database('read_only')
  const gw = await startTestGateway({ mock, config: { database_url: url, metrics_enabled: true } })
  const admin = new Bun.SQL(url)
  const readOnly = async (on: boolean) => {
    await admin.unsafe(on ? 'ALTER SYSTEM SET default_transaction_read_only = on' : 'ALTER SYSTEM RESET default_transaction_read_only')
    await admin.unsafe('SELECT pg_reload_conf()')
    await Bun.sleep(500)
  }
  try {
    const { secret } = await gw.userWithKey({ id: 'ro-user', max_budget: 1 })
    expect((await chat(gw.url, secret)).status).toBe(200)
    await gw.settled()
    expect(await health(gw.url)).toEqual({ status: 200, body: { status: 'ok' } })
    // Every session, the gateway's pooled ones included, now refuses writes (as a standby does).
    await readOnly(true)
    expect(await refusedChat(gw.url, secret)).toEqual({ status: 503, code: 'database_unavailable', retryAfter: '1' })
    expect(await health(gw.url)).toEqual({ status: 503, body: { status: 'unavailable', database: 'read_only' } })
    expect(await databaseGauges(gw.url)).toEqual(['tollgate_database_up 1', 'tollgate_database_read_only 1'])
    await readOnly(false)
    expect(await health(gw.url)).toEqual({ status: 200, body: { status: 'ok' } })
    expect((await chat(gw.url, secret)).status).toBe(200)
    expect(await databaseGauges(gw.url)).toEqual(['tollgate_database_up 1', 'tollgate_database_read_only 0'])
  } finally {
    await admin.unsafe('ALTER SYSTEM RESET default_transaction_read_only').catch(() => {})
    await admin.unsafe('SELECT pg_reload_conf()').catch(() => {})
    await admin.close()
    await gw.stop()
  }
}, 60_000)

test('Postgres refusing new connections (53300 too many connections): requests get 503 database_unavailable', async () => {
  const superUrl = await pg.database('no_slots')
  const admin = new Bun.SQL(superUrl)
  // The gateway logs in as an ordinary role (a superuser is exempt from connection limits).
  await admin.unsafe('CREATE ROLE tg LOGIN')
  await admin.unsafe('ALTER DATABASE no_slots OWNER TO tg')
  await admin.unsafe('GRANT ALL ON SCHEMA public TO tg')
  const url = superUrl.replace('postgres://postgres@', 'postgres://tg@')
  const gw = await startTestGateway({ mock, config: { database_url: url } })
  try {
    const { secret } = await gw.userWithKey({ id: 'slots-user', max_budget: 1 })
    expect((await chat(gw.url, secret)).status).toBe(200)
    await gw.settled()
    // No slot left for this role: its connections are cut, and every new one is refused with 53300.
    await admin.unsafe('ALTER ROLE tg CONNECTION LIMIT 0')
    await admin.unsafe(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'tg'`)
    await Bun.sleep(300)
    const answers = []
    for (let i = 0; i < 4; i++) answers.push(await refusedChat(gw.url, secret))
    expect(answers).toEqual(Array(4).fill({ status: 503, code: 'database_unavailable', retryAfter: '1' }))
  } finally {
    await admin.unsafe('ALTER ROLE tg CONNECTION LIMIT -1').catch(() => {})
    await gw.stop()
    await admin.close()
  }
}, 60_000)

test("Postgres out of disk (53100) under a hold: 503 database_full, as SQLite's SQLITE_FULL", async () => {
  const url = await pg.database('disk_full')
  const gw = await startTestGateway({ mock, config: { database_url: url, metrics_enabled: true } })
  const admin = new Bun.SQL(url)
  try {
    const { secret } = await gw.userWithKey({ id: 'full-user', max_budget: 1 })
    expect((await chat(gw.url, secret)).status).toBe(200)
    await gw.settled()
    // The full volume is stood in for by a trigger raising the very error Postgres raises then.
    await admin.unsafe(`CREATE FUNCTION no_room() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'could not extend file "base/16384/16500": No space left on device' USING ERRCODE = 'disk_full'; END $$`)
    await admin.unsafe('CREATE TRIGGER no_room BEFORE INSERT ON reservations FOR EACH ROW EXECUTE FUNCTION no_room()')
    const refused = await refusedChat(gw.url, secret)
    expect({ ...refused, retryAfter: refused.retryAfter !== null }).toEqual({ status: 503, code: 'database_full', retryAfter: true })
  } finally {
    await admin.close()
    await gw.stop()
  }
}, 60_000)
