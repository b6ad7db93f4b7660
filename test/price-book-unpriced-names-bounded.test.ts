/**
 * Names found unpriced are kept apart from the priced ones, at most 10,000 of them (src/pricing/price-book.ts): any
 * key may name ever new made-up models for free, and kept among the priced ones (100,000, whatever their length —
 * a retrieved id was not even held to a body's 256 characters) 20,000 ids of 8,000 characters grew a gateway by
 * 179 MB for good. A retrieved id longer than a body's `model` may be is no model (404) and is not looked up.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { openDatabase } from '../src/db/open'
import { PriceBook } from '../src/pricing/price-book'
import { SqliteStore } from '../src/store/sqlite/store'
import type { PriceRows } from '../src/store/store'
import { startTestGateway, tempDir, type TestGateway } from './support/gateway'
import { startMockProvider, type MockProvider } from './support/mock-provider'

const HOUR = 3_600_000
let dir: string
let db: ReturnType<typeof openDatabase>
let mock: MockProvider
let gw: TestGateway

beforeAll(async () => {
  dir = tempDir()
  db = openDatabase(join(dir, 'prices.db'))
  mock = startMockProvider()
  gw = await startTestGateway({ mock })
})

afterAll(async () => {
  await gw.stop()
  await mock.stop()
  db.$client.close()
  rmSync(dir, { recursive: true, force: true })
})

test('20,000 made-up names evict no priced model, and only the last 10,000 of them are kept', async () => {
  const read: string[] = []
  const rows = new SqliteStore(db).prices
  const counted: PriceRows = Object.assign(Object.create(rows), { ofModel: (model: string, now: number) => (read.push(model), rows.ofModel(model, now)) })
  const book = new PriceBook(counted, HOUR)
  const t0 = Date.now()
  await book.set({ model: 'p:real', input_per_million: 1, output_per_million: 2 }, t0 - HOUR)
  expect((await book.priceOf('p:real', t0))?.model).toBe('p:real')
  for (let i = 0; i < 20_000; i++) expect(await book.priceOf(`p:made-up-${i}`, t0)).toBeNull()
  read.length = 0
  expect((await book.priceOf('p:real', t0))?.model).toBe('p:real')
  expect(await book.priceOf('p:made-up-19999', t0)).toBeNull()
  expect(await book.priceOf('p:made-up-10000', t0)).toBeNull()
  expect(read).toEqual([])
  // The oldest ones were let go: read again.
  expect(await book.priceOf('p:made-up-0', t0)).toBeNull()
  expect(read).toEqual(['p:made-up-0'])
})

test('a model priced after it was found unpriced is priced at once after the change', async () => {
  const book = new PriceBook(new SqliteStore(db).prices, HOUR)
  const t0 = Date.now()
  expect(await book.priceOf('p:later', t0)).toBeNull()
  await book.set({ model: 'p:later', input_per_million: 1, output_per_million: 2 }, t0)
  expect((await book.priceOf('p:later', t0 + 1))?.model).toBe('p:later')
})

test('a retrieved id longer than a request body\'s model may be (256 characters) is no model', async () => {
  const { secret } = await gw.userWithKey({ id: 'long-ids' })
  const headers = { authorization: `Bearer ${secret}` }
  const long = await fetch(`${gw.url}/v1/models/mock:${'x'.repeat(300)}`, { headers })
  expect(long.status).toBe(404)
  const known = await fetch(`${gw.url}/v1/models/mock:gpt-mock`, { headers })
  expect(known.status).toBe(200)
})
