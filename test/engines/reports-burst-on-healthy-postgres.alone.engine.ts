/**
 * On the Postgres store a replica runs its report scans one at a time (src/store/postgres/records-scans.ts), the
 * others waiting their turn. The line used to hold 8: a burst of ordinary, cheap reports on a healthy database that
 * answers each in milliseconds — two admins opening the console's overview at once (the overview alone is three
 * scans, beside refusals, unpriced models, alerts and the daily chart), an admin script paging /v1/usage with ten
 * workers, users reading their own /v1/key/usage — was refused 503 `database_unavailable`, "the database cannot be
 * reached", although it could. How long the line waits is the deadline's to say; its bound is on memory only, far
 * above such bursts, and answered with a code of its own (test/records-scans-one-at-a-time.test.ts).
 *
 * And a key's own latest usage is an index read (usage_key_id, usage_daily_key), not a scan: it does not wait for
 * its turn behind the admin's reports.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from '../support/mock-provider'
import { spawnGateway, type SpawnedGateway } from '../support/gateway'
import { PRICING } from '../support/exact-model'
import { startPostgres, type TestPostgres } from './support/postgres'

const ROWS = 20_000
let pg: TestPostgres
let mock: MockProvider
let gw: SpawnedGateway
let url: string

beforeAll(async () => {
  pg = await startPostgres()
  mock = startMockProvider()
  url = await pg.database('reports_burst')
  gw = await spawnGateway({ mock, env: { TOLLGATE_DATABASE_URL: url }, config: { pricing: PRICING } })
  const direct = new Bun.SQL(url, { max: 1 })
  const now = Date.now()
  await direct.unsafe(
    `INSERT INTO usage (request_id, created_at, user_id, key_id, model, provider, endpoint, prompt_tokens, completion_tokens, cost, reserved, status, latency_ms)
     SELECT 'req-' || i, $1::bigint - i::bigint * 1000, 'user-' || (i % 100), 'key-' || (i % 100), 'mock:m' || (i % 5), 'mock', 'chat', 100, 20, 1234, 5000, 'ok', 300
     FROM generate_series(1, $2::int) AS i`,
    [now, ROWS],
  )
  await direct`VACUUM ANALYZE usage`
  await direct.close()
}, 300_000)
afterAll(async () => {
  await gw?.stop()
  mock?.stop()
  await pg?.destroy()
})

/** 200, or the status and the start of the body of any other answer. */
const statuses = (asked: Array<Promise<Response>>) =>
  Promise.all(
    asked.map(async (answer) => {
      const res = await answer
      const text = await res.text()
      return res.status === 200 ? 200 : `${res.status} ${text.slice(0, 120)}`
    }),
  )

describe('a burst of cheap reports on a healthy Postgres', () => {
  test('the database answers a single scan quickly (the premise)', async () => {
    const t = performance.now()
    const res = await fetch(`${gw.url}/v1/usage/overview`, { headers: gw.master })
    expect(res.status).toBe(200)
    await res.text()
    expect(performance.now() - t).toBeLessThan(1_000)
  })

  test('two admins open the console overview at once: every call answered 200', async () => {
    const page = () => [
      fetch(`${gw.url}/v1/usage/overview`, { headers: gw.master }),
      fetch(`${gw.url}/v1/audit/refusals`, { headers: gw.master }),
      fetch(`${gw.url}/v1/pricing/unpriced`, { headers: gw.master }),
      fetch(`${gw.url}/v1/alerts?limit=10`, { headers: gw.master }),
      fetch(`${gw.url}/v1/usage/daily?by=model`, { headers: gw.master }),
    ]
    expect((await statuses([...page(), ...page()])).filter((s) => s !== 200)).toEqual([])
  }, 60_000)

  test('an admin script paging /v1/usage with ten workers: every page answered 200', async () => {
    const pages = Array.from({ length: 10 }, (_, i) => fetch(`${gw.url}/v1/usage?limit=10&user_id=user-${i}`, { headers: gw.master }))
    expect((await statuses(pages)).filter((s) => s !== 200)).toEqual([])
  }, 60_000)

  test("sixteen users reading their own key's usage at once (GET /v1/key/usage): every one answered 200", async () => {
    const keys = await Promise.all(Array.from({ length: 16 }, (_, i) => gw.userWithKey({ id: `self-${i}`, max_budget: 10 })))
    const reads = keys.map(({ secret }) => fetch(`${gw.url}/v1/key/usage?limit=10`, { headers: { authorization: `Bearer ${secret}` } }))
    expect((await statuses(reads)).filter((s) => s !== 200)).toEqual([])
  }, 60_000)
})

test("a key's own latest usage, and its next page, are answered while a report scan waits on a lock", async () => {
  const { secret, keyId } = await gw.userWithKey({ id: 'reader', max_budget: 10 })
  const direct = new Bun.SQL(url, { max: 2 })
  await direct.unsafe(
    `INSERT INTO usage (request_id, created_at, user_id, key_id, model, provider, endpoint, prompt_tokens, completion_tokens, cost, reserved, status, latency_ms)
     SELECT 'own-' || i, $1::bigint - i::bigint * 1000, 'reader', $2, 'mock:m', 'mock', 'chat', 100, 20, 1234, 5000, 'ok', 300
     FROM generate_series(1, 30) AS i`,
    [Date.now(), keyId],
  )
  const locker = await direct.reserve()
  try {
    // The alerts report's scan takes this replica's turn and waits on the lock (till the deadline, 3 s).
    await locker`BEGIN`
    await locker`LOCK TABLE alerts IN ACCESS EXCLUSIVE MODE`
    const report = fetch(`${gw.url}/v1/alerts?limit=10`, { headers: gw.master })
    const waiting = async () => (await direct`SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query ILIKE '%"alerts"%'`)[0].n
    while ((await waiting()) === 0) await Bun.sleep(20)

    const own = { authorization: `Bearer ${secret}` }
    const asked = performance.now()
    const first = await fetch(`${gw.url}/v1/key/usage?limit=10`, { headers: own })
    const firstBody = (await first.json()) as any
    const next = await fetch(`${gw.url}/v1/key/usage?limit=10&cursor=${firstBody.next_cursor}`, { headers: own })
    const nextBody = (await next.json()) as any
    const took = performance.now() - asked
    expect([first.status, firstBody.data.length, firstBody.totals.requests]).toEqual([200, 10, 30])
    expect([next.status, nextBody.data.length]).toEqual([200, 10])
    expect(took).toBeLessThan(1_000)

    await locker`ROLLBACK`
    expect((await report).status).toBe(200)
  } finally {
    locker.release()
    await direct.close()
  }
}, 60_000)
