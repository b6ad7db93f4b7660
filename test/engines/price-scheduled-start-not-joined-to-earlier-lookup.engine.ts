/**
 * A scheduled price (effective_from) is in force for every request that arrives from its start on (README: "the
 * wall clock still decides ... which price is in effect"). On Postgres the price book's lookup of a model is a round
 * trip, and a request that finds the model's entry stale joins a lookup already under way for it. One begun before
 * the scheduled start reads the row in force *then*: a request arriving after the start took that answer and was
 * billed the old price (a price rise billed late). Such a request now looks the model up itself. The slow round trip
 * here is a lock on `prices` (a migration, a VACUUM FULL, a busy database) held well under the database deadline.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { SQL } from 'bun'
import { startMockProvider, type MockProvider } from '../support/mock-provider'
import { startTestGateway, type TestGateway } from '../support/gateway'
import { startPostgres, type TestPostgres } from './support/postgres'

let pg: TestPostgres
let mock: MockProvider
let gw: TestGateway
let db: SQL
const MODEL = 'mock:gpt-scheduled'

beforeAll(async () => {
  pg = await startPostgres()
  mock = startMockProvider()
  const url = await pg.database('scheduled_start_lookup')
  gw = await startTestGateway({ mock, config: { database_url: url, cache_ttl_ms: 100 } })
  db = new SQL(url)
}, 60_000)

afterAll(async () => {
  await gw?.stop()
  await db?.close()
  mock?.stop()
  await pg?.destroy()
})

const chat = (secret: string) =>
  fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: MODEL, max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }),
  })

test('a request arriving after a scheduled price starts is billed that price, not the one a lookup begun before the start read', async () => {
  const { secret } = await gw.userWithKey({ id: 'scheduled', max_budget: 100 })
  const old = await gw.admin('POST', '/v1/pricing', { model: MODEL, input_per_million: 1, output_per_million: 1 })
  expect(old.status).toBe(201)
  const start = Date.now() + 2_000
  const scheduled = await gw.admin('POST', '/v1/pricing', {
    model: MODEL, input_per_million: 100, output_per_million: 100, effective_from: new Date(start).toISOString(),
  })
  expect(scheduled.status).toBe(201)
  expect((await chat(secret)).status).toBe(200) // the key and the model are cached

  // Just before the start: the price table is slow to answer (locked), past the cache's 100 ms TTL.
  await Bun.sleep(start - Date.now() - 400)
  let release!: () => void
  let locked!: () => void
  const isLocked = new Promise<void>((r) => (locked = r))
  const lock = db.begin(async (tx) => {
    await tx`LOCK TABLE prices IN ACCESS EXCLUSIVE MODE`
    locked()
    await new Promise<void>((r) => (release = r))
  })
  await isLocked
  const before = chat(secret) // arrives before the start: the old price is right for it
  await Bun.sleep(start - Date.now() + 150)
  expect(Date.now()).toBeGreaterThan(start)
  const after = chat(secret) // arrives after the start
  await Bun.sleep(150)
  release()
  await lock
  const [b, a] = await Promise.all([before, after])
  expect([b.status, a.status]).toEqual([200, 200])
  const afterId = a.headers.get('x-request-id')
  await gw.settled()
  const [row] = await db`SELECT price_id, cost FROM usage WHERE request_id = ${afterId}`
  expect(row).toBeDefined()
  expect(row.price_id).toBe(scheduled.body.id)
}, 60_000)
