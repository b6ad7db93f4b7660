/**
 * The Postgres store's background writers, while Postgres takes none of their rows: request-log rows are kept up
 * to a cap, the newest, and refusal counts likewise (both were kept without a bound while a lock held their table:
 * a long one under load took the process's memory, and the settlements queued beside them with it); and every
 * request-log row not written is counted (tollgate_log_rows_dropped_total), those of a write whose COMMIT went
 * unanswered (not sent again) included, so that each request refused meanwhile is either in the log or in the count.
 * (A write a read-only Postgres refuses wrote nothing, and is sent again until it lands:
 * postgres-log-rows-outlive-outage.engine.ts.) (SQLite: test/queue-bounded-while-database-takes-no-writes.test.ts.)
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import type { RequestLogEntry } from '../../src/records/request-log'
import { PostgresStore } from '../../src/store/postgres/store'
import { startMockProvider, type MockProvider } from '../support/mock-provider'
import { MASTER_KEY, startTestGateway } from '../support/gateway'
import { startPostgres, type TestPostgres } from './support/postgres'
import { waitFor } from '../support/wait-for'

let pg: TestPostgres
let mock: MockProvider
beforeAll(async () => {
  pg = await startPostgres()
  mock = startMockProvider()
}, 60_000)
afterAll(async () => {
  mock?.stop()
  await pg?.destroy()
})

const CAP = 20
const logRow = (i: number): RequestLogEntry => ({
  createdAt: Date.now(), requestId: `req-${i}`, method: 'POST', route: '/v1/chat/completions', status: 503, latencyMs: 1, clientIp: '127.0.0.1', keyId: null, userId: null,
})

test('a lock held on api_request_log: rows appended meanwhile are kept up to the cap, the newest, written once it goes; the others counted, said once', async () => {
  const url = await pg.database('log_locked')
  const errors: unknown[] = []
  const store = await PostgresStore.open(url, (e) => errors.push(e), 500, { maxQueuedLogRows: CAP, maxQueuedRefusalCounts: CAP })
  const sql = new Bun.SQL(url, { max: 2 })
  const locker = await sql.reserve()
  try {
    await locker`BEGIN`
    // Reads go on (SHARE mode): the inserts wait, and are refused at the writer's lock timeout (55P03).
    await locker`LOCK TABLE api_request_log, refusal_counts IN SHARE MODE`
    for (let i = 0; i < 200; i++) {
      store.appendRequestLog(logRow(i))
      store.refusals.count(0, 'rate_limit_exceeded')
      if (i % 20 === 0) await Bun.sleep(50)
    }
    await Bun.sleep(300)
    await locker`ROLLBACK`
    // A send whose lock wait ran out as the lock went rejects the flush (its rows go again): flushed once one lands.
    expect(await waitFor(10_000, () => store.flush().then(() => true, () => false))).toBe(true)
    const logged = (await sql`SELECT request_id FROM api_request_log ORDER BY id`).map((r: { request_id: string }) => r.request_id)
    const [counted] = await sql`SELECT coalesce(sum(count), 0)::int AS n FROM refusal_counts`
    expect({ logged, dropped: store.droppedWhileUnwritable(), counted: counted.n }).toEqual({
      logged: Array.from({ length: CAP }, (_, i) => `req-${200 - CAP + i}`),
      dropped: { logRows: 200 - CAP, refusalCounts: 200 - CAP },
      counted: CAP,
    })
    expect(errors.filter((e) => /request-log rows are being dropped/.test(String(e)))).toHaveLength(1)
    expect(errors.filter((e) => /refusal counts are being dropped/.test(String(e)))).toHaveLength(1)
  } finally {
    locker.release()
    await sql.close()
    await store.close()
  }
}, 60_000)

test('a read-only Postgres: every request refused meanwhile is in the request log or counted in tollgate_log_rows_dropped_total', async () => {
  const url = await pg.database('log_read_only')
  const gw = await startTestGateway({ mock, config: { database_url: url, metrics_enabled: true } })
  const admin = new Bun.SQL(url)
  const readOnly = async (on: boolean) => {
    await admin.unsafe(on ? 'ALTER SYSTEM SET default_transaction_read_only = on' : 'ALTER SYSTEM RESET default_transaction_read_only')
    await admin.unsafe('SELECT pg_reload_conf()')
    await Bun.sleep(500)
  }
  const chat = (secret: string) =>
    fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'hi' }], max_tokens: 20 }),
    })
  const droppedMetric = async () => {
    const text = await (await fetch(`${gw.url}/metrics`, { headers: { authorization: `Bearer ${MASTER_KEY}` } })).text()
    const m = /^tollgate_log_rows_dropped_total (\d+)$/m.exec(text)
    return m ? Number(m[1]) : null
  }
  try {
    const { secret } = await gw.userWithKey({ id: 'ro-user', max_budget: 1 })
    expect((await chat(secret)).status).toBe(200)
    await gw.settled()
    // settled() is a read of /v1/audit, whose own log row is queued as it answers: written before the window, or it
    // would be dropped in it and counted beside the chats' (31 of 30, once in CI).
    for (let i = 0; i < 100; i++) {
      const [{ n }] = await admin`SELECT count(*)::int AS n FROM api_request_log WHERE route = '/v1/audit'`
      if (n > 0) break
      await Bun.sleep(20)
    }
    await readOnly(true)
    const statuses: number[] = []
    for (let i = 0; i < 30; i++) {
      statuses.push((await chat(secret)).status)
      if (i % 10 === 9) await Bun.sleep(600) // past the log writer's tries
    }
    expect(statuses).toEqual(Array(30).fill(503))
    await readOnly(false)
    await gw.settled()
    const [{ n: logged }] = await admin`SELECT count(*)::int AS n FROM api_request_log WHERE status = 503 AND route = '/v1/chat/completions'`
    const dropped = await droppedMetric()
    expect({ dropped: typeof dropped, total: logged + (dropped ?? 0) }).toEqual({ dropped: 'number', total: 30 })
  } finally {
    await admin.unsafe('ALTER SYSTEM RESET default_transaction_read_only').catch(() => {})
    await admin.unsafe('SELECT pg_reload_conf()').catch(() => {})
    await admin.close()
    await gw.stop()
  }
}, 60_000)
