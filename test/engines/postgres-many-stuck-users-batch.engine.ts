/**
 * A replica frozen mid-transaction holds the rows of every user of its reservation batch, not one: a batch of a busy
 * gateway carries tens of users. Another replica's batch then asks for those users and for a free one. The free
 * user's hold is decided and committed in the batch's first transaction; each stuck user is then waited for in a
 * transaction of its own, a few at a time. Each of those waited max(ROWS_LOCK_TIMEOUT_MS, what was left of the batch's
 * lock wait), so every few stuck users past the first added 100 ms, the batch outlived its deadline, and the WHOLE
 * batch was refused 503, the free user's committed hold included (and released). Now the free user is answered as soon
 * as the first transaction commits, the stuck users share the batch's one lock wait, and those whose turn comes after
 * it are refused at once.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { SQL } from 'bun'
import { Ledger } from '../../src/budget/ledger'
import { GatewayError } from '../../src/http/errors'
import { PostgresStore } from '../../src/store/postgres/store'
import { holdFor } from '../support/ledger-contract'
import { startPostgres, type TestPostgres } from './support/postgres'

let pg: TestPostgres
beforeAll(async () => {
  pg = await startPostgres()
})
afterAll(async () => {
  await pg?.destroy()
})

/** The hold's answer, and how long after `since` it came. */
const outcome = (p: Promise<unknown>, since: number) =>
  p.then(() => 'taken', (e) => (e instanceof GatewayError ? e.code : String(e))).then((answer) => ({ answer, ms: Date.now() - since }))

test("a free user's hold in a batch with a frozen replica's 30 users is taken at once, and only theirs refused, within the deadline", async () => {
  const DEADLINE = 1_000
  const url = await pg.database('many_stuck_users')
  const store = await PostgresStore.open(url, () => {}, DEADLINE)
  const g = new Ledger(store.ledger, 60_000)
  const other = new SQL(url)
  const now = Date.now()
  const stuck = Array.from({ length: 30 }, (_, i) => `stuck-${String(i).padStart(2, '0')}`)
  for (const id of ['free', ...stuck])
    await other`INSERT INTO users (id, max_budget, period_start, created_at, updated_at) VALUES (${id}, 1000000000, 0, ${now}, ${now})`
  // The frozen replica's batch: every one of its users' rows locked, its session never ending.
  const session = await other.reserve()
  await session`BEGIN`
  await session`SELECT 1 FROM users WHERE id LIKE 'stuck-%' ORDER BY id FOR NO KEY UPDATE`
  let answers: Array<{ answer: string; ms: number }>
  try {
    // Requests of the free user and of the frozen replica's users reach replica g together: one batch.
    const started = Date.now()
    answers = await Promise.all([outcome(g.reserve(holdFor('free', 1)), started), ...stuck.map((u) => outcome(g.reserve(holdFor(u, 1)), started))])
  } finally {
    await session`COMMIT`
    session.release()
  }
  const freeHolds = Number((await other`SELECT count(*)::int AS n FROM reservations WHERE user_id = 'free'`)[0].n)
  await other.close()
  await store.close()
  const [free, ...refused] = answers
  console.log({ free, stuckAnsweredAfterMs: Math.max(...refused.map((a) => a.ms)) })
  expect(new Set(refused.map((a) => a.answer))).toEqual(new Set(['database_unavailable']))
  // Their lock wait ends at ¾ of the deadline; a CI run on two loaded cores answered the last of them at 1,089 ms. The
  // bug's tell is below (the free user refused with the batch); waits of 100 ms each in turn would take 3 s.
  expect(Math.max(...refused.map((a) => a.ms))).toBeLessThan(DEADLINE * 1.5)
  // Answered once the first transaction committed, not once the stuck users were waited for (¾ of the deadline).
  expect({ free: free!.answer, answeredAtOnce: free!.ms < DEADLINE / 2, freeHoldsOpen: freeHolds }).toEqual({ free: 'taken', answeredAtOnce: true, freeHoldsOpen: 1 })
}, 60_000)
