/**
 * Store parity: paging GET /v1/pricing by its cursor. README: "`GET /v1/pricing` reads one page of models ... in the
 * order the database sorts text (byte order on SQLite, the database's collation on Postgres), which its `cursor`
 * follows." The page query (src/store/price-sql.ts `inForceFrom` + `page`) has no ORDER BY (it would sort every
 * model for a page): it relies on the recursive walk of models being the outer loop of the join. SQLite keeps that
 * order; Postgres's planner hashed the plain join and answered a few dozen prices in the table's insertion order, so
 * a page's last model was not the greatest of those before it, and the next page (`model > cursor`) skipped models
 * (10 of 31 seen). On Postgres the walk is joined LATERAL, which keeps it the outer loop. Plain ASCII names, the test
 * database's C collation.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from '../support/mock-provider'
import { startTestGateway, type TestGateway } from '../support/gateway'
import { startPostgres, type TestPostgres } from './support/postgres'

let pg: TestPostgres
let mock: MockProvider
let lite: TestGateway
let post: TestGateway
// Written in an order that is not the models' order (as an operator adds prices over time).
const MODELS = Array.from({ length: 30 }, (_, i) => `mock:model-${String((i * 7) % 30).padStart(2, '0')}`)

beforeAll(async () => {
  pg = await startPostgres()
  mock = startMockProvider()
  lite = await startTestGateway({ mock })
  post = await startTestGateway({ mock, config: { database_url: await pg.database('pricing_page_order') } })
  for (const gw of [lite, post])
    for (const model of MODELS) expect((await gw.admin('POST', '/v1/pricing', { model, input_per_million: 1, output_per_million: 2 })).status).toBe(201)
})
afterAll(async () => {
  await lite?.stop()
  await post?.stop()
  await mock?.stop()
  await pg?.destroy()
})

/** Every model the list shows, page after page by next_cursor. */
async function walk(gw: TestGateway, limit: number): Promise<string[]> {
  const seen: string[] = []
  let cursor: string | null = null
  for (let n = 0; n < 100; n++) {
    const r: { status: number; body: any } = await gw.admin('GET', `/v1/pricing?limit=${limit}${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`)
    expect(r.status).toBe(200)
    seen.push(...r.body.data.map((p: { model: string }) => p.model))
    cursor = r.body.next_cursor
    if (cursor === null) return seen
  }
  throw new Error('no last page')
}

const everyModel = [...MODELS, 'mock:gpt-mock'].sort()

describe('GET /v1/pricing walked by next_cursor, 5 models a page', () => {
  test('SQLite: every priced model once, in model order', async () => {
    expect(await walk(lite, 5)).toEqual(everyModel)
  })

  test('Postgres: every priced model once, in model order (as on SQLite)', async () => {
    const seen = await walk(post, 5)
    expect(new Set(seen).size).toBe(everyModel.length)
    expect(seen).toEqual(everyModel)
  })

  test('Postgres: one page of all of them is in model order', async () => {
    expect(await walk(post, 1000)).toEqual(everyModel)
  })
})
