/**
 * A settlement batch given up on at the database deadline (its writer tries it again) is kept in pending_settlements
 * meanwhile, as one whose rows are held elsewhere is: past its hold's lifetime another replica's sweep spares the hold
 * rather than charging it in full, and once the batch lands it is taken out again. Here the batch waits behind an
 * earlier one whose COMMIT is slow (one settlement transaction at a time: settleWithin).
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { SQL } from 'bun'
import { Ledger } from '../../src/budget/ledger'
import { PostgresStore } from '../../src/store/postgres/store'
import { waitFor } from '../support/wait-for'
import { slowCommits } from './support/slow-commit'
import { startPostgres, type TestPostgres } from './support/postgres'

let pg: TestPostgres
beforeAll(async () => {
  pg = await startPostgres()
})
afterAll(async () => {
  await pg?.destroy()
})

const usageOf = (cost: number) => ({ cost, promptTokens: 1, completionTokens: 1, cachedTokens: 0, status: 'ok' as const, latencyMs: 1 })
const asked = (requestId: string, userId: string) => ({
  requestId, userId, keyId: null, keyHash: null, amount: 5_000, model: 'p:a', provider: 'p', endpoint: '/v1/chat/completions', priceId: null, stream: false,
})

test("a settlement given up on at the deadline is kept, not charged in full by another replica's sweep", async () => {
  const url = await pg.database('settlement_past_deadline_kept')
  const a = await PostgresStore.open(url, () => {}, 1_000)
  const b = await PostgresStore.open(url, () => {}, 1_000)
  const direct = new SQL(url)
  try {
    const now = Date.now()
    await a.sql`INSERT INTO users (id, max_budget, period_start, created_at, updated_at) VALUES ('u1', 100000000, 0, ${now}, ${now}), ('u2', 100000000, 0, ${now}, ${now})`
    // Long enough that the next settlement is kept well before it lands (it is kept ~2.5 s in: below).
    const slow = await slowCommits(direct, 8)
    await slow.on('usage', 'INSERT', "NEW.request_id = 'r-slow'")
    // Holds that expire in 2 s, so that the test need not wait the default TTL.
    const ledgerA = new Ledger(a.ledger, 2_000)
    const [first, next] = await Promise.all([ledgerA.reserve(asked('r-slow', 'u1')), ledgerA.reserve(asked('r-next', 'u2'))])
    const expired = Date.now() + 2_000
    ledgerA.settle(first.taken, usageOf(1_000))
    // Sent once the slow COMMIT is under way, so that it queues behind that batch (rather than a fixed 100 ms later).
    await slow.underWay()
    ledgerA.settle(next.taken, usageOf(1_000))
    // The writer sends it once the first batch's try gives up (the deadline, 1 s), with that batch, half a second later
    // (its pause before a try again), and gives up on both a second later: kept ~2.5 s in. A fixed 2.5 s wait read it
    // just before that under load (CI run 25).
    const kept = await waitFor(5_000, async () => (await direct`SELECT hold_id FROM pending_settlements WHERE hold_id = ${next.taken.id}`).length === 1)
    await Bun.sleep(Math.max(0, expired + 200 - Date.now()))
    const swept = await new Ledger(b.ledger, 60_000).sweep()
    await slow.landed()
    await a.ledger.flush()
    await Bun.sleep(200)
    const [u2] = await direct`SELECT spend::int AS spend, reserved::int AS reserved FROM users WHERE id = 'u2'`
    const stillKept = Number((await direct`SELECT count(*)::int AS n FROM pending_settlements`)[0].n)
    expect({ kept, swept, u2, stillKept }).toEqual({ kept: true, swept: 0, u2: { spend: 1_000, reserved: 0 }, stillKept: 0 })
  } finally {
    await a.close()
    await b.close()
    await direct.close()
  }
}, 90_000)
