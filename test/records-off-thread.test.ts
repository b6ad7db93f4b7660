import { Database } from 'bun:sqlite'
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'

/**
 * The records queries run on their own thread: while the slowest of them is still running, /health and an
 * inference request are answered. Since the daily rollups the summary no longer scans the rows, and the rare
 * statuses and a model's rows have indexes; the slowest is now a deep `offset` over a filter no index serves
 * (status ok, past the end: every row of the million is read, newest first, to return none). No timing is
 * asserted, only the order: both answers arrive while the list is still pending. Gateway and test
 * client share one event loop here, so a query run on the request thread would hold both back until it
 * ended.
 */
const ROWS = 1_000_000
const DAY_MS = 86_400_000
const LISTS = 10

let mock: MockProvider
let gw: TestGateway
let secret: string
beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock })
  ;({ secret } = await gw.userWithKey({ id: 'reader', max_budget: 100 }))
  // A million usage rows over 90 days, 1,000 users and 24 models, in one statement (it runs in one transaction).
  const db = new Database(gw.dbPath)
  db.exec('PRAGMA busy_timeout = 10000')
  // Room for the whole table and its indexes: pages are written once, at commit, not spilled on the way.
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
}, 120_000)
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})

test('/health and inference are answered while the slowest records query is still running', async () => {
  // Ten of them, which the reader runs one after another: on a fast machine one alone (~0.3 s here) could end
  // before /health and the chat request are answered, and the order would prove nothing.
  let listsDone = 0
  const lists = Array.from({ length: LISTS }, () =>
    fetch(`${gw.url}/v1/usage?status=ok&limit=5&offset=2000000`, { headers: gw.master }).then(async (res) => {
      listsDone++
      return { status: res.status, body: (await res.json()) as { data: unknown[] } }
    }),
  )
  // Lets the lists reach their handler (on the request thread, a query there would hold this timer back too).
  await Bun.sleep(100)

  const health = await fetch(`${gw.url}/health`)
  expect(health.status).toBe(200)
  expect(listsDone).toBeLessThan(LISTS)

  const chat = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'hi' }] }),
  })
  expect(chat.status).toBe(200)
  await chat.json()
  expect(listsDone).toBeLessThan(LISTS)

  for (const answered of await Promise.all(lists)) {
    expect(answered.status).toBe(200)
    expect(answered.body.data).toEqual([])
  }
}, 120_000)
