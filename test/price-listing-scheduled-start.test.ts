/**
 * GET /v1/models lists the prices in force as of its own arrival: a listing that arrives after a scheduled row's
 * start does not take the answer of a reload begun before the start (whose read is of the prices in force then) but
 * reads again. On Postgres the read is a round trip, so the window is real; test/engines/
 * price-scheduled-start-not-joined-to-earlier-lookup.engine.ts is the same for a request's own price.
 *
 * The rows here are the price table as a store answers it, with the read's answer held back (as a Postgres round
 * trip is): the read sees the table as it stood when the query was sent.
 */
import { expect, test } from 'bun:test'
import { PriceListing } from '../src/pricing/price-listing'
import type { Price } from '../src/pricing/price'
import type { PriceRows } from '../src/store/store'

const t0 = Date.now()
/** A price in force from before t0, and a rise scheduled from t0 + 100. */
const ROWS = [
  { id: 1, model: 'p:m', createdAt: t0 - 10 },
  { id: 2, model: 'p:m', createdAt: t0 + 100 },
] as Price[]

function table() {
  let held: Array<() => void> | null = null
  const read = <T>(snapshot: T): Promise<T> => (held ? new Promise((resolve) => held!.push(() => resolve(snapshot))) : Promise.resolve(snapshot))
  const inForce = (now: number) => ROWS.filter((r) => r.createdAt <= now).slice(-1)
  const rows = { nextChange: (now: number) => read(ROWS.find((r) => r.createdAt > now)?.createdAt ?? null) } as PriceRows
  return {
    listing: (ttlMs: number) => new PriceListing(rows, ttlMs, (_, now) => read(inForce(now))),
    holdReads: () => void (held = []),
    releaseReads: () => {
      const waiting = held ?? []
      held = null
      for (const release of waiting) release()
    },
  }
}

test('a listing that arrives after a scheduled row started lists it, not what a reload begun before the start read', async () => {
  const t = table()
  const ttl = 20
  const listing = t.listing(ttl)
  expect((await listing.all(t0)).map((p) => p.id)).toEqual([1])

  await Bun.sleep(ttl + 5) // the listing's lifetime has passed: the next listing reloads, its read on its way
  t.holdReads()
  const before = listing.all(t0 + 50)
  const after = listing.all(t0 + 150)
  t.releaseReads()
  expect((await before).map((p) => p.id)).toEqual([1])
  expect((await after).map((p) => p.id)).toEqual([2])
})
