/**
 * GET /v1/keys, GET /v1/users, a key's own latest usage (GET /v1/key/usage, the console's My key page) and the
 * /metrics alert-delivery counts are records queries, off the request thread, but they are quick reads (a page of an
 * index, two counts) and run in a lane of their own (records-reader.ts QUICK_READS): on the one reader
 * thread, answering one query at a time in order, 40 slow admin usage lists queued first (a deep offset over a
 * million rows each, as a dashboard or an export script sends them) held a key list ~3.6 s and a scrape ~3.7 s.
 * The bound is far above their own cost and far below the queue's.
 */
import { Database } from 'bun:sqlite'
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'

const ROWS = 1_000_000
const DAY_MS = 86_400_000
const LISTS = 40
const BOUND_MS = 1_000

let mock: MockProvider
let gw: TestGateway
let secret: string
beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock, config: { metrics_enabled: true } })
  ;({ secret } = await gw.userWithKey({ id: 'owner' }))
  const r = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'hi' }] }),
  })
  expect(r.status).toBe(200)
  await r.arrayBuffer()
  await gw.settled()
  const db = new Database(gw.dbPath)
  db.exec('PRAGMA busy_timeout = 10000')
  db.exec('PRAGMA cache_size = -400000')
  const start = Date.now() - 90 * DAY_MS
  db.query(
    `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
     INSERT INTO usage (request_id, created_at, user_id, key_id, model, provider, endpoint, prompt_tokens, completion_tokens, cost, reserved, status)
     SELECT 'gen-' || i, ?2 + i * (90 * ${DAY_MS} / ?1), 'user-' || (i * 7919 % 1000), NULL, 'provider:model-' || (i % 24), 'provider',
            '/v1/chat/completions', 100, 50, 200, 300, 'ok'
     FROM n`,
  ).run(ROWS, start)
  db.close()
}, 180_000)
afterAll(async () => {
  await gw?.stop()
  await mock?.stop()
})

/** Slow admin reads queued on the reader thread, as a dashboard or an export script sends them. */
function queueSlowLists() {
  let done = 0
  const all = Array.from({ length: LISTS }, () =>
    fetch(`${gw.url}/v1/usage?status=ok&limit=5&offset=2000000`, { headers: gw.master }).then(async (r) => {
      await r.arrayBuffer()
      done++
    }),
  )
  return { all: Promise.all(all), done: () => done }
}

test('control: alone, a key page and a scrape take a few ms', async () => {
  let t = performance.now()
  expect((await gw.admin("GET", "/v1/keys?user_id=owner")).status).toBe(200)
  const keys = performance.now() - t
  t = performance.now()
  expect((await fetch(`${gw.url}/metrics`, { headers: gw.master })).status).toBe(200)
  console.log(`alone: keys ${keys.toFixed(0)} ms, metrics ${(performance.now() - t).toFixed(0)} ms`)
})

test('a key just created is listed without waiting behind unrelated records queries', async () => {
  const lists = queueSlowLists()
  await Bun.sleep(100)
  const created = await gw.admin('POST', '/v1/keys', { user_id: 'owner', name: 'fresh' })
  expect(created.status).toBe(201)
  const started = performance.now()
  const listed = await gw.admin('GET', `/v1/keys?user_id=owner`)
  const took = performance.now() - started
  console.log(`GET /v1/keys took ${took.toFixed(0)} ms; ${lists.done()} of ${LISTS} slow lists had ended`)
  expect(listed.status).toBe(200)
  expect(listed.body.data.map((k: { id: string }) => k.id)).toContain(created.body.id)
  await lists.all
  expect(took).toBeLessThan(BOUND_MS)
}, 120_000)

test('a /metrics scrape is not held behind unrelated records queries', async () => {
  const lists = queueSlowLists()
  await Bun.sleep(100)
  const started = performance.now()
  const res = await fetch(`${gw.url}/metrics`, { headers: gw.master })
  const text = await res.text()
  const took = performance.now() - started
  console.log(`GET /metrics took ${took.toFixed(0)} ms; ${lists.done()} of ${LISTS} slow lists had ended`)
  expect(res.status).toBe(200)
  expect(text).toContain('tollgate_database_up 1')
  await lists.all
  expect(took).toBeLessThan(BOUND_MS)
}, 120_000)

test("a key's own latest usage is answered without waiting behind unrelated records queries", async () => {
  const lists = queueSlowLists()
  await Bun.sleep(100)
  const started = performance.now()
  const res = await fetch(`${gw.url}/v1/key/usage?limit=10`, { headers: { authorization: `Bearer ${secret}` } })
  const body = (await res.json()) as { data: unknown[]; totals: { requests: number } }
  const took = performance.now() - started
  console.log(`GET /v1/key/usage took ${took.toFixed(0)} ms; ${lists.done()} of ${LISTS} slow lists had ended`)
  await lists.all
  expect({ status: res.status, rows: body.data.length, requests: body.totals.requests }).toEqual({ status: 200, rows: 1, requests: 1 })
  expect(took).toBeLessThan(BOUND_MS)
}, 120_000)
