/**
 * The prices in force were read with one statement over the whole price history (src/store/price-sql.ts
 * `current`: every row of `prices` scanned, a correlated subquery per row; `nextChange` a scan too), on the request
 * thread's connection: by the price cache every TOLLGATE_CACHE_TTL_MS (5 s by default), inside the first inference
 * request after it, and by every GET /v1/pricing. The history is kept for ever (every POST /v1/pricing, `prices
 * set`, `prices catalog --apply` adds a row): 1,000 models re-priced 100 times held the thread ~200 ms at each read.
 * They are now one lookup per model through prices_model, and the next change one through prices_starts. Issue
 * 15: no admin query delays a concurrent request by more than 5 ms; bounded as the other admin tests bound a busy
 * machine.
 */
import { Database } from 'bun:sqlite'
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { MASTER_KEY, spawnGateway, type SpawnedGateway } from './support/gateway'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { quietThread, worstHoldDuring } from './support/request-thread-hold'

const MODELS = 1_000
const VERSIONS = 100
const HELD_MS = 50
let mock: MockProvider
let gw: SpawnedGateway
let secret: string

beforeAll(async () => {
  mock = startMockProvider()
  gw = await spawnGateway({ mock })
  const db = new Database(gw.dbPath)
  db.exec('PRAGMA busy_timeout = 10000')
  const now = Date.now()
  // Past rows, a version an hour apart for each model (the newest an hour ago).
  db.query(
    `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ?1 - 1)
     INSERT INTO prices (model, input_per_million, output_per_million, created_at, source)
     SELECT 'mock:model-' || (i % ?2), 1000000 + i, 2000000, ?3 - (?1 - i) * 3600, 'api' FROM n`,
  ).run(MODELS * VERSIONS, MODELS, now - 3_600_000)
  db.exec('PRAGMA wal_checkpoint(TRUNCATE)')
  db.close()
  ;({ secret } = await gw.userWithKey({ id: 'app' }))
  await quietThread(gw.proc.pid)
}, 120_000)

afterAll(async () => {
  await gw?.stop()
  mock?.stop()
})

test('GET /v1/pricing over a long price history does not hold the request thread', async () => {
  const list = fetch(`${gw.url}/v1/pricing`, { headers: { authorization: `Bearer ${MASTER_KEY}` } }).then((r) => r.status)
  const worst = await worstHoldDuring(gw.url, list, gw.proc.pid)
  console.log(`GET /v1/pricing: ${worst}`)
  expect(await list).toBe(200)
  expect(worst.held).toBeLessThan(HELD_MS)
}, 60_000)

test('the price cache reloading inside an inference request does not hold the request thread', async () => {
  // Past the cache's TTL (5 s): the next request that looks a price up reads the prices in force again.
  await Bun.sleep(5_500)
  const chat = fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'hi' }], max_tokens: 16 }),
  }).then((r) => r.status)
  const worst = await worstHoldDuring(gw.url, chat, gw.proc.pid)
  console.log(`chat after the TTL: ${worst}`)
  expect(await chat).toBe(200)
  expect(worst.held).toBeLessThan(HELD_MS)
}, 60_000)
