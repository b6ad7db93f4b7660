/**
 * A lock held for long on a table a background writer writes (a VACUUM FULL, an index build, a newer replica's
 * migration) must not take the pool every hold takes its connection from. The refusal-count writer
 * (src/store/postgres/refusal-rows.ts) and the stored-response-id writer bound their lock waits, as the request log
 * does (BOUND_LOCK_WAITS: refused at once with 55P03, sent again later): otherwise each batch waits on the lock, the
 * deadline refuses its caller but the statement keeps its pooled connection until Postgres answers, the next
 * batch takes another, and with refusals coming (402/403/429 are what a busy gateway answers) the pool of 16
 * drains and every inference request is refused 503 while its own tables are free.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { toGatewayError } from '../../src/plugins/errors'
import { PostgresStore } from '../../src/store/postgres/store'
import { startMockProvider, type MockProvider } from '../support/mock-provider'
import { startTestGateway, type TestGateway } from '../support/gateway'
import { startPostgres, type TestPostgres } from './support/postgres'

let pg: TestPostgres
let mock: MockProvider
let gw: TestGateway
let direct: InstanceType<typeof Bun.SQL>
beforeAll(async () => {
  pg = await startPostgres()
  mock = startMockProvider()
  const url = await pg.database('refusal_counts_locked')
  gw = await startTestGateway({ mock, config: { database_url: url, database_timeout_ms: 500 } })
  direct = new Bun.SQL(url, { max: 2 })
}, 60_000)
afterAll(async () => {
  await direct?.close()
  await gw?.stop()
  await mock?.stop()
  await pg?.destroy()
})

const chat = (secret: string, model: string) =>
  fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 10 }),
  })

describe('a lock held on a table a background writer writes', () => {
  test('on refusal_counts: refusals counted meanwhile do not take the holds\' pool: a paying request is still served (200), not 503', async () => {
    const good = await gw.userWithKey({ id: 'lock-good', max_budget: 10 })
    // A key allowed one model only: asking for another is a 403 model_not_allowed, a counted refusal.
    const narrow = await gw.userWithKey({ id: 'lock-narrow', max_budget: 10 }, { allowed_models: ['mock:other'] })
    expect((await chat(good.secret, 'mock:gpt-mock')).status).toBe(200)
    await gw.settled()

    const locker = await direct.reserve()
    await locker`BEGIN`
    await locker`LOCK TABLE refusal_counts IN ACCESS EXCLUSIVE MODE`
    let waiting = 0
    try {
      // Refusals at a modest pace (20/s) for up to 15 s, until the gateway's statements waiting on the lock stop growing.
      const until = Date.now() + 15_000
      while (Date.now() < until) {
        await Promise.all(Array.from({ length: 4 }, () => chat(narrow.secret, 'mock:gpt-mock')))
        await Bun.sleep(200)
        ;[{ n: waiting }] = await direct`SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid()`
        if (waiting >= 16) break
      }
      const res = await chat(good.secret, 'mock:gpt-mock')
      expect({ status: res.status, waitingOnLock: waiting }).toMatchObject({ status: 200 })
    } finally {
      await locker`ROLLBACK`
      locker.release()
    }
  }, 60_000)

  test('on stored_responses: ids recorded meanwhile keep at most one connection waiting, are written once when it goes, and a lookup is refused 503 database_busy at once', async () => {
    const url = await pg.database('stored_responses_locked')
    const store = await PostgresStore.open(url, () => {}, 500)
    const sql = new Bun.SQL(url, { max: 2 })
    const now = Date.now()
    await sql`INSERT INTO users (id, spend, reserved, period_start, blocked, created_at, updated_at) VALUES ('u', 0, 0, 0, false, ${now}, ${now})`
    const locker = await sql.reserve()
    await locker`BEGIN`
    // Reads go on (SHARE mode): only the writes wait.
    await locker`LOCK TABLE stored_responses IN SHARE MODE`
    let mostWaiting = 0
    let lookup: unknown
    try {
      store.recordResponse({ id: 'resp_locked', kind: 'response', user_id: 'u', provider: 'p', model: 'p:m', context_tokens: 1, media_parts: 0, context_bytes: 1, holds_audio: false }, Date.now())
      // Past the writer's first tries and their deadlines (500 ms each, then 500 ms apart): each used to keep its connection.
      const until = Date.now() + 4_000
      while (Date.now() < until) {
        await Bun.sleep(100)
        const [{ n }] = await sql`SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()`
        mostWaiting = Math.max(mostWaiting, n)
      }
      const started = performance.now()
      lookup = await store.findResponse('resp_locked', 'response').then(
        () => 'answered',
        (error) => ({ code: toGatewayError('UNKNOWN', error, { log() {} } as any).code, fast: performance.now() - started < 400 }),
      )
    } finally {
      await locker`ROLLBACK`
      locker.release()
    }
    try {
      await store.flush()
      const [{ n }] = await sql`SELECT count(*)::int AS n FROM stored_responses WHERE id = 'resp_locked'`
      expect({ mostWaiting, lookup, written: n }).toEqual({ mostWaiting: expect.any(Number), lookup: { code: 'database_busy', fast: true }, written: 1 })
      expect(mostWaiting).toBeLessThanOrEqual(1)
    } finally {
      await sql.close()
      await store.close()
    }
  }, 30_000)
})
