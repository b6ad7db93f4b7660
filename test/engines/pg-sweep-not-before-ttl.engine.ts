/**
 * Mutation guard, Postgres. A hold expires `ttlMs` after the `now` it was reserved at, measured on
 * the database's clock (PostgresLedgerStore: `expires_in`), and is swept only once that has passed. The suites
 * sweep a TTL past the hold or PAST_EXPIRY (1 s) beyond its expiry: a refactor that writes the expiry seconds short
 * passes them while another replica's sweep charges live requests their whole hold.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { Ledger } from '../../src/budget/ledger'
import { PostgresStore } from '../../src/store/postgres/store'
import { holdFor } from '../support/ledger-contract'
import { startPostgres, type TestPostgres } from './support/postgres'

const TTL = 60_000
/** The two clocks a Postgres hold is timed by (the host's, the database's) may land this far apart. */
const CLOCKS_APART = 1_000
let pg: TestPostgres
beforeAll(async () => {
  pg = await startPostgres()
})
afterAll(async () => {
  await pg?.destroy()
})

test('another replica\'s hold is not swept before its TTL has passed (Postgres), and is swept once it has', async () => {
  const url = await pg.database('ttl_margin')
  const owner = await PostgresStore.open(url)
  const other = await PostgresStore.open(url)
  try {
    const now = Date.now()
    await owner.sql`INSERT INTO users (id, max_budget, period_start, created_at, updated_at) VALUES ('u', NULL, 0, ${now}, ${now})`
    await new Ledger(owner.ledger, TTL).reserve(holdFor('u', 700), now)
    const sweeper = new Ledger(other.ledger, TTL)
    const user = async () => (await other.sql`SELECT spend::int, reserved::int FROM users WHERE id = 'u'`)[0]

    const early: number[] = []
    for (const before of [30_000, 5_000, 2_000, CLOCKS_APART]) early.push(await sweeper.sweep(now + TTL - before))
    expect({ early, user: await user() }).toEqual({ early: [0, 0, 0, 0], user: { spend: 0, reserved: 700 } })

    expect(await sweeper.sweep(now + TTL + CLOCKS_APART)).toBe(1)
    expect(await user()).toEqual({ spend: 700, reserved: 0 })
  } finally {
    await other.close()
    await owner.close()
  }
})
