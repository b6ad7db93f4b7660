/**
 * GET /v1/pricing/unpriced (the console's overview of models asked for without a price) says which of them are
 * priced by now from every price in force as the database has it (PriceBook.storedPrices), which read them all in one
 * statement on the request thread's connection: with 50,000 priced models that read held the request thread ~200 ms,
 * as GET /v1/models did (models-list-many-prices-request-thread.alone.test.ts). Issue 15: no admin query delays a
 * concurrent request by more than 5 ms; bounded at 50 ms for a busy machine, as that test bounds /v1/models.
 */
import { Database } from 'bun:sqlite'
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { spawnGateway, type SpawnedGateway } from './support/gateway'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { quietThread, worstHoldDuring } from './support/request-thread-hold'

const MODELS = 50_000
const HELD_MS = 50
let mock: MockProvider
let gw: SpawnedGateway

beforeAll(async () => {
  mock = startMockProvider()
  gw = await spawnGateway({ mock })
  const db = new Database(gw.dbPath)
  db.exec('PRAGMA busy_timeout = 10000')
  // One row per model, an hour old; and two models asked for without a price, one of them priced since.
  db.query(
    `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ?1 - 1)
     INSERT INTO prices (model, input_per_million, output_per_million, created_at, source)
     SELECT 'mock:model-' || i, 1000000 + i, 2000000, ?2, 'api' FROM n`,
  ).run(MODELS, Date.now() - 3_600_000)
  db.query(`INSERT INTO unpriced_models (model, requests, first_seen_at, last_seen_at) VALUES (?1, 3, ?2, ?2), (?3, 1, ?2, ?2)`).run(
    'mock:model-49999',
    Date.now() - 60_000,
    'mock:never-priced',
  )
  db.exec('PRAGMA wal_checkpoint(TRUNCATE)')
  db.close()
  await quietThread(gw.proc.pid)
}, 120_000)

afterAll(async () => {
  await gw?.stop()
  mock?.stop()
})

test('GET /v1/pricing/unpriced over 50,000 priced models does not hold the request thread', async () => {
  const list = fetch(`${gw.url}/v1/pricing/unpriced?include_priced=true`, { headers: gw.master }).then(async (r) => ({
    status: r.status,
    body: (await r.json()) as { data: Array<{ model: string; priced: boolean }> },
  }))
  const worst = await worstHoldDuring(gw.url, list, gw.proc.pid)
  console.log(`${MODELS} priced models, GET /v1/pricing/unpriced: ${worst}`)
  const { status, body } = await list
  expect(status).toBe(200)
  expect(body.data.map((m) => [m.model, m.priced]).sort()).toEqual([
    ['mock:model-49999', true],
    ['mock:never-priced', false],
  ])
  expect(worst.held).toBeLessThan(HELD_MS)
}, 60_000)
