/**
 * The price cache reads one model at a time (src/pricing/price-book.ts), and GET /v1/pricing one page
 * (PriceRows.page): each must still find exactly the row in force. A model whose only row is scheduled is unpriced
 * until its start and priced from it, without waiting out the TTL; a deleted model is unpriced; a page skips the
 * models with no row in force and still fills up, from a cursor or an offset.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { openDatabase } from '../src/db/open'
import { PriceBook } from '../src/pricing/price-book'
import { SqliteStore } from '../src/store/sqlite/store'
import { tempDir } from './support/gateway'

const HOUR = 3_600_000
const rates = { input_per_million: 1, output_per_million: 2 }
let dir: string
let db: ReturnType<typeof openDatabase>
let book: PriceBook
const t0 = Date.now()

beforeAll(async () => {
  dir = tempDir()
  db = openDatabase(join(dir, 'prices.db'))
  // A TTL no test outlives: only a change or a scheduled start may make the book read a model again.
  book = new PriceBook(new SqliteStore(db).prices, HOUR)
  for (const model of ['p:a', 'p:b', 'p:d', 'p:e']) await book.set({ model, ...rates }, t0 - HOUR)
  await book.remove('p:b', t0 - HOUR / 2)
  await book.set({ model: 'p:c', ...rates, effectiveFrom: t0 + HOUR }, t0)
})

afterAll(() => {
  db.$client.close()
  rmSync(dir, { recursive: true, force: true })
})

test('a model whose only row is scheduled is unpriced until its start, then priced by it (the cache does not outlive the start)', async () => {
  expect(await book.priceOf('p:c', t0 + HOUR - 1)).toBeNull()
  expect(await book.priceOf('p:c', t0 + HOUR)).toMatchObject({ model: 'p:c', createdAt: t0 + HOUR })
  expect(await book.storedPriceOf('p:c', t0)).toBeNull()
})

test('a deleted model is unpriced, in the cache and in the database', async () => {
  expect(await book.priceOf('p:b', t0)).toBeNull()
  expect(await book.storedPriceOf('p:b', t0)).toBeNull()
  expect((await book.priceOf('p:a', t0))?.model).toBe('p:a')
})

test('a page lists the models in force, skipping the others, from a cursor or an offset', async () => {
  const models = async (after: string | undefined, limit: number, offset = 0) => (await book.storedPage(after, limit, offset, t0)).map((p) => p.model)
  expect(await models(undefined, 2)).toEqual(['p:a', 'p:d'])
  expect(await models('p:a', 2)).toEqual(['p:d', 'p:e'])
  expect(await models(undefined, 2, 1)).toEqual(['p:d', 'p:e'])
  expect(await models('p:e', 2)).toEqual([])
  expect((await book.storedPage(undefined, 10, 0, t0 + HOUR)).map((p) => p.model)).toEqual(['p:a', 'p:c', 'p:d', 'p:e'])
})
