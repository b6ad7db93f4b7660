/**
 * Mutation guard. A price change another replica makes reaches this one through the change feed,
 * which calls PriceBook.invalidate() (src/redis/change-feed.ts). A lookup of the model this replica began before
 * that message (on Postgres a round trip: its read saw the table as it was) must not be kept once it is answered:
 * kept, it would be the cached price for the whole TTL, and every request until then billed at the old rate (a
 * price raised: billed below the provider's price). price-reload-after-change only checks a request that arrives
 * while the old lookup is still out (which starts its own), so a book that kept the stale answer passed it.
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
