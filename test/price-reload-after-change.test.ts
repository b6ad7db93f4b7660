/**
 * A price change is seen by every request that arrives after it: one made through this process (POST or
 * DELETE /v1/pricing, once it has answered) or told by another replica through Redis bumps the price book's
 * generation, and a request that then finds the cache stale does not join a reload begun before the change
 * (its read saw the table as it was: a model just unpriced would be served at the deleted price instead of
 * 402, a price just raised billed at the old rate) but waits for a read of its own, made after that one.
 * On Postgres the read is a round trip, so the window is real (on SQLite it is synchronous).
 *
 * The rows here are the price table as a store answers it, with the read's answer held back (as a Postgres
 * round trip is): the read sees the table as it stood when the query was sent.
 */
import { expect, test } from 'bun:test'
import { PriceBook } from '../src/pricing/price-book'
import type { NewPriceRow, PriceRow, PriceRows } from '../src/store/store'

function table() {
  const rows: PriceRow[] = []
  let held: Array<() => void> | null = null
  /** The statement's snapshot: the table as it is when the query is sent, answered when reads are released. */
  const read = <T>(snapshot: T): Promise<T> => (held ? new Promise((resolve) => held!.push(() => resolve(snapshot))) : Promise.resolve(snapshot))
  const inForce = (now: number) => rows.filter((r) => r.created_at <= now && r.deleted_at === null).map((r) => ({ ...r }))
  const priceRows: PriceRows = {
    current: (now) => read(inForce(now)),
    nextChange: async () => null,
    page: (after, limit, offset, now) => read(inForce(now).filter((r) => r.model > after).slice(offset, offset + limit)),
    ofModel: (model, now) => read({ inForce: inForce(now).findLast((r) => r.model === model) ?? null, nextStart: null }),
    insert: async (r: NewPriceRow) => {
      const row: PriceRow = { ...r, id: rows.length + 1, deleted_at: null }
      rows.push(row)
      return row
    },
    unprice: async (model, { at }) => {
      const inForce = rows.find((r) => r.model === model && r.deleted_at === null) ?? null
      if (inForce) inForce.deleted_at = at
      return { inForce, cancelledScheduled: 0 }
    },
    history: async () => [],
    record: async () => null,
    countOf: async (model) => rows.filter((r) => r.model === model).length,
  }
  return {
    priceRows,
    holdReads: () => void (held = []),
    releaseReads: () => {
      const waiting = held ?? []
      held = null
      for (const release of waiting) release()
    },
  }
}

test('a request that arrives after DELETE /v1/pricing answered is not priced by a reload begun before it', async () => {
  const t = table()
  const ttl = 20
  const book = new PriceBook(t.priceRows, ttl)
  const t0 = Date.now()
  await book.set({ model: 'p:m', input_per_million: 1, output_per_million: 2 }, t0 - 1)
  expect(await book.priceOf('p:m', t0)).not.toBeNull()

  // The cache's lifetime has passed (measured on the monotonic clock): the next request reloads, and its read is on its way.
  await Bun.sleep(ttl + 5)
  t.holdReads()
  const before = book.priceOf('p:m', t0 + ttl + 1)
  // The operator unprices the model; the DELETE commits and answers.
  expect((await book.remove('p:m', t0 + ttl + 2)).inForce).not.toBeNull()
  // A request arriving after that answer.
  const after = book.priceOf('p:m', t0 + ttl + 3)
  t.releaseReads()
  await before // began before the change: either answer is fair
  // Allow a reload this request starts itself to be answered too.
  const answer = await Promise.race([after, Bun.sleep(50).then(() => (t.releaseReads(), after))])
  expect(answer).toBeNull()
})

test('the same for a price raised: the request after the change is billed at the new row', async () => {
  const t = table()
  const ttl = 20
  const book = new PriceBook(t.priceRows, ttl)
  const t0 = Date.now()
  await book.set({ model: 'p:m', input_per_million: 1, output_per_million: 2 }, t0 - 1)
  expect((await book.priceOf('p:m', t0))!.inputPerMillion).toBe(1_000_000)

  await Bun.sleep(ttl + 5)
  t.holdReads()
  const before = book.priceOf('p:m', t0 + ttl + 1)
  const raised = await book.set({ model: 'p:m', input_per_million: 50, output_per_million: 100 }, t0 + ttl + 2)
  const after = book.priceOf('p:m', t0 + ttl + 3)
  t.releaseReads()
  await before
  const answer = await Promise.race([after, Bun.sleep(50).then(() => (t.releaseReads(), after))])
  expect(answer?.id).toBe(raised.id)
})

/**
 * A lookup this replica began before another replica's change (heard through the feed: PriceBook.invalidate(),
 * src/redis/change-feed.ts) must not be kept once it is answered: kept, it would be the cached price for the whole
 * TTL, every request until then billed at the old rate. The tests above check a request arriving while the old
 * lookup is still out; this one, the lookup's own answer.
 */
test("a lookup begun before another replica's price change (heard through the feed) is not kept: the next request is billed at the new row, not the old one for the TTL", async () => {
  const t = table()
  const ttl = 60_000
  // Replica B's reads of one model are held back, as a Postgres round trip is; its snapshot is the table when sent.
  let gate: Array<() => void> | null = null
  const rowsB: PriceRows = {
    ...t.priceRows,
    ofModel: (model, now) => {
      const snapshot = t.priceRows.ofModel(model, now)
      const g = gate
      return g ? snapshot.then((v) => new Promise((resolve) => g.push(() => resolve(v)))) : snapshot
    },
  }
  const a = new PriceBook(t.priceRows, ttl)
  const b = new PriceBook(rowsB, ttl)
  const t0 = Date.now()
  const old = await a.set({ model: 'p:m', input_per_million: 1, output_per_million: 2 }, t0 - 1)

  gate = []
  const before = b.priceOf('p:m', t0) // B's first request for the model: its read is on its way
  await Bun.sleep(5)
  const raised = await a.set({ model: 'p:m', input_per_million: 50, output_per_million: 100 }, t0 + 1) // through replica A
  b.invalidate() // A's message reaches B's change feed
  const waiting = gate
  gate = null
  for (const release of waiting) release()
  expect((await before)?.id).toBe(old.id) // began before the change: the old row is fair for it

  // Every request after the change: the new row.
  expect((await b.priceOf('p:m', t0 + 2))?.id).toBe(raised.id)
})
