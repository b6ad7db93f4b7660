import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'bun:test'
import { Ledger } from '../../src/budget/ledger'
import { BatchWriter } from '../../src/store/postgres/batch'
import { PostgresStore } from '../../src/store/postgres/store'
import { done, holdFor, ledgerContract } from '../support/ledger-contract'
import { startPostgres, type TestPostgres } from './support/postgres'

// The suite test/ledger-stores.test.ts runs on SQLite, here on a real Postgres: a fresh database per test.
let pg: TestPostgres
let n = 0
beforeAll(async () => {
  pg = await startPostgres()
})
afterAll(async () => {
  await pg?.destroy()
})

ledgerContract({
  name: 'Postgres',
  async open() {
    const url = await pg.database(`ledger_${++n}`)
    const store = await PostgresStore.open(url)
    return {
      store,
      other: () => PostgresStore.open(url),
      cleanup: () => store.close(),
    }
  },
})

describe('Postgres ledger: what rides in a reservation’s transaction', () => {
  let store: PostgresStore
  let ledger: Ledger
  beforeEach(async () => {
    store = await PostgresStore.open(await pg.database(`riding_${++n}`))
    ledger = new Ledger(store.ledger, 60_000)
    const now = Date.now()
    await store.sql`INSERT INTO users (id, max_budget, period_start, created_at, updated_at) VALUES ('u', 1000, 0, ${now}, ${now})`
  })
  afterEach(async () => {
    await store.close()
  })
  const figures = async () => {
    await ledger.flush()
    const [u] = await store.sql`SELECT spend::int, reserved::int FROM users WHERE id = 'u'`
    const [r] = await store.sql`SELECT count(*)::int AS usage, coalesce(sum(cost), 0)::int AS cost FROM usage`
    return { spend: u.spend, reserved: u.reserved, usage: r.usage, cost: r.cost }
  }

  test('a settlement queued when the next reservation comes is written in its transaction: that reservation already counts the real cost', async () => {
    const first = await ledger.reserve(holdFor('u', 1000))
    first.settle(done(100))
    // Alone, the settlement would still be lingering: the whole 1000 held, and this refused.
    const second = await ledger.reserve(holdFor('u', 900))
    expect(second.remainingAfter).toBe(0)
    expect(await figures()).toEqual({ spend: 100, reserved: 900, usage: 1, cost: 100 })
  })

  test('flush waits for the settlements riding in a reservation still in flight', async () => {
    const first = await ledger.reserve(holdFor('u', 500))
    first.settle(done(42))
    const second = ledger.reserve(holdFor('u', 10))
    await new Promise((resolve) => setImmediate(resolve)) // the batch, carrying the settlement, is on its way
    await ledger.flush()
    const [r] = await store.sql`SELECT count(*)::int AS n FROM usage`
    expect(r.n).toBe(1)
    await second
  })

  test('figures remembered while a settlement of its own is in flight are forgotten once it commits: the next batch does not expect its hold still open', async () => {
    const pgLedger = store.ledger as unknown as { remember(f: unknown): void; known: { users: Map<string, unknown> } }
    const first = await ledger.reserve(holdFor('u', 100))
    // Another connection holds the user's row: the settlement, sent on its own, waits in flight.
    const blocker = await store.sql.reserve()
    try {
      await blocker`BEGIN`
      await blocker`SELECT 1 FROM users WHERE id = 'u' FOR UPDATE`
      first.settle(done(10))
      await Bun.sleep(50) // its linger (5 ms) is over: it is on its way, waiting for the row
      // What a reservation that locked the row before that settlement remembers (lockedBatch): the hold
      // still open. Reached by timing alone under load (bench/pg-profile.ts at concurrency 1 hit it twice
      // in 5 s), here directly.
      pgLedger.remember({ users: new Map([['u', { blocked: false, maxBudget: 1000, spend: 0, reserved: 100, budgetPeriod: null, periodStart: 0 }]]), keys: new Map() })
      await blocker`COMMIT`
    } finally {
      blocker.release()
    }
    await ledger.flush()
    expect(await figures()).toEqual({ spend: 10, reserved: 0, usage: 1, cost: 10 })
    // Kept, they would send the next batch to a gated write that fails, and every batch for a second after
    // it to the row locks' two round trips.
    expect(pgLedger.known.users.has('u')).toBe(false)
  })

  test('a late settlement riding in the next reservation is expected rolled, as SETTLE rolls it: the one-round-trip write holds', async () => {
    const D2 = Date.UTC(2026, 10, 24)
    await store.sql`INSERT INTO users (id, max_budget, budget_period, period_start, created_at, updated_at) VALUES ('d', 10000, 'daily', ${D2 - 86_400_000}, 0, 0)`
    const first = await ledger.reserve(holdFor('d', 5000), D2 - 60_000)
    first.settle(done(4000), D2 + 30_000)
    // Decided on the figures this process expects: its last commit's, moved by the settlement riding along.
    expect((await ledger.reserve(holdFor('d', 1), D2 + 40_000)).remainingAfter).toBe(10_000 - 4000 - 1)
    // Expected unrolled, the gated write would have found period_start moved and sent every batch to the row locks for a second.
    expect((store.ledger as unknown as { expectAfter: number }).expectAfter).toBe(0)
    const [u] = await store.sql`SELECT spend::int, reserved::int, period_start::float8 AS period_start FROM users WHERE id = 'd'`
    expect(u).toEqual({ spend: 4000, reserved: 1, period_start: D2 })
  })

  test('a settlement carried by a reservation batch Postgres rolled back is counted once, when it is written on its own', async () => {
    const observed: number[] = []
    const observing = new Ledger(store.ledger, 60_000, (_hold, o) => observed.push(o.cost))
    // A rider whose statement Postgres refuses for its data (22012) after SETTLE has answered in the same transaction.
    let probesAlone = 0
    const refused = new BatchWriter<unknown>(async () => void probesAlone++, () => {}, { retry: false, what: 'probe' })
    store.ledger.carry(refused, 'SELECT 1 / 0 WHERE $1::text IS NOT NULL')
    const first = await observing.reserve(holdFor('u', 500))
    first.settle(done(42))
    refused.push({ probe: 1 })
    expect((await observing.reserve(holdFor('u', 10))).remainingAfter).not.toBeNull()
    await observing.flush()
    expect(await figures()).toEqual({ spend: 42, reserved: 10, usage: 1, cost: 42 })
    expect(observed).toEqual([42])
    await refused.flush()
    expect(probesAlone).toBe(1) // the batch was refused for it, and it went on its own
  })

  test('a reservation that fails gives back the settlements it carried: they are written once Postgres is back', async () => {
    const first = await ledger.reserve(holdFor('u', 500))
    await pg.stop()
    try {
      first.settle(done(42))
      await expect(ledger.reserve(holdFor('u', 10))).rejects.toThrow()
    } finally {
      await pg.start()
    }
    const deadline = Date.now() + 20_000
    for (;;) {
      try {
        expect(await figures()).toEqual({ spend: 42, reserved: 0, usage: 1, cost: 42 })
        break
      } catch (error) {
        if (Date.now() > deadline) throw error
        await Bun.sleep(200)
      }
    }
  })
})

test('two processes reserving and settling on one budget and key at once never deadlock (Postgres would stall each for a second)', async () => {
  const url = await pg.database(`deadlocks_${++n}`)
  const stores = [await PostgresStore.open(url), await PostgresStore.open(url)]
  try {
    const now = Date.now()
    await stores[0]!.sql`INSERT INTO users (id, max_budget, period_start, created_at, updated_at) VALUES ('u', 1000000000, 0, ${now}, ${now})`
    await stores[0]!.sql`INSERT INTO api_keys (id, user_id, key_hash, key_prefix, max_budget, created_at, updated_at) VALUES ('k', 'u', 'k', 'tg-', 1000000000, ${now}, ${now})`
    const ledgers = stores.map((s) => new Ledger(s.ledger, 60_000))
    await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        for (let j = 0; j < 15; j++) (await ledgers[i % 2]!.reserve(holdFor('u', 100, 'k'))).settle(done(7))
      }),
    )
    // A settlement whose model's rollup row the other process holds past a moment lands later, by design (README,
    // Postgres locks): on a loaded machine some do here, so each flush is given until the rows are free again.
    const settled = async () => (await stores[0]!.sql`SELECT spend::int, reserved::int FROM users`)[0]
    const until = performance.now() + 10_000
    do await Promise.all(ledgers.map((l) => l.flush()))
    while ((await settled()).reserved > 0 && performance.now() < until && (await Bun.sleep(100), true))
    const [row] = await stores[0]!.sql`SELECT deadlocks::int AS n FROM pg_stat_database WHERE datname = current_database()`
    expect(row.n).toBe(0)
    expect(await settled()).toEqual({ spend: 600 * 7, reserved: 0 })
  } finally {
    for (const s of stores) await s.close()
  }
})
