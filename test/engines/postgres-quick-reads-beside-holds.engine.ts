/**
 * Admin pages of a user's usage filtered to another user's key, sixteen at once (one per connection of the store's
 * main pool, the holds' own): such a page matches no row, and read as a quick read on the main pool it walked the
 * whole index, holding the connections every inference request's hold needs. It is an empty page now, found
 * without reading usage (test/user-usage-another-users-key.test.ts); a quick read that still runs long is ended
 * and asked again as a scan (test/engines/postgres-quick-reads-bounded.engine.ts).
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from '../support/mock-provider'
import { spawnGateway, type SpawnedGateway } from '../support/gateway'
import { chat, PRICING } from '../support/exact-model'
import { startPostgres, type TestPostgres } from './support/postgres'

const ROWS = 1_000_000
let pg: TestPostgres
let mock: MockProvider
let gw: SpawnedGateway
let url: string
let alicesKey: string
let bobsKey: string

beforeAll(async () => {
  pg = await startPostgres()
  mock = startMockProvider()
  url = await pg.database('quick_reads_beside_holds')
  gw = await spawnGateway({ mock, env: { TOLLGATE_DATABASE_URL: url }, config: { pricing: PRICING } })
  alicesKey = (await gw.userWithKey({ id: 'alice' })).keyId
  bobsKey = (await gw.userWithKey({ id: 'bob' })).keyId
  const direct = new Bun.SQL(url, { max: 1 })
  const now = Date.now()
  for (const [user, key] of [['alice', alicesKey], ['bob', bobsKey]])
    await direct.unsafe(
      `INSERT INTO usage (request_id, created_at, user_id, key_id, model, provider, endpoint, prompt_tokens, completion_tokens, cost, reserved, status, latency_ms)
       SELECT $3 || '-' || i, $1::bigint - i::bigint * 1000, $3, $4, 'mock:exact', 'mock', 'chat', 100, 20, 1234, 5000, 'ok', 300
       FROM generate_series(1, $2::int) AS i`,
      [now, ROWS, user, key],
    )
  await direct`VACUUM ANALYZE usage`
  await direct.close()
}, 600_000)
afterAll(async () => {
  await gw?.stop()
  mock?.stop()
  await pg?.destroy()
})

const master = () => gw.master

test("admin pages of a user's usage filtered to another user's key do not hold up inference's holds", async () => {
  const { secret } = await gw.userWithKey({ id: 'caller', max_budget: 10 })
  // The premise: a chat request alone is quick, and so is bob's page of his own key.
  expect((await chat(gw.url, secret)).status).toBe(200)
  let t = performance.now()
  expect((await chat(gw.url, secret)).status).toBe(200)
  const chatAlone = performance.now() - t
  t = performance.now()
  const own = await fetch(`${gw.url}/v1/users/bob/usage?key_id=${bobsKey}&limit=10`, { headers: master() })
  expect(((await own.json()) as { data: unknown[] }).data).toHaveLength(10)
  const ownPage = performance.now() - t

  // 16 admin pages of bob's usage filtered to alice's key: one per main-pool connection.
  const pages = Array.from({ length: 16 }, () =>
    fetch(`${gw.url}/v1/users/bob/usage?key_id=${alicesKey}&limit=10`, { headers: master() }).then(async (r) => ({ status: r.status, rows: ((await r.json()) as any).data?.length })),
  )
  await Bun.sleep(100)
  t = performance.now()
  const during = await chat(gw.url, secret)
  const chatDuring = performance.now() - t
  await during.text()
  const answered = await Promise.all(pages)
  console.log(`chat alone ${chatAlone.toFixed(0)} ms, bob's own page ${ownPage.toFixed(0)} ms; chat during the mismatched pages ${chatDuring.toFixed(0)} ms (status ${during.status}); pages: ${JSON.stringify(answered[0])}`)
  expect(during.status).toBe(200)
  for (const page of answered) expect(page).toEqual({ status: 200, rows: 0 })
  // 2.6 s when the pages held the main pool.
  expect(chatDuring).toBeLessThan(1_000)
}, 300_000)
