/**
 * A user whose row another session holds for long (a replica frozen mid-transaction) shares a reservation batch with
 * a user other replicas keep busy (each of their batches holds its row for milliseconds). The batch locked its users
 * in id order and held the busy user's row while it waited ¾ of the deadline for the stuck one's, so the other
 * replicas' holds for the busy user waited as long and were refused 503; then it took the rows free at that instant
 * (SKIP LOCKED) and refused the busy user's too. Now a batch takes the rows no other session holds, decides their
 * holds at once, and waits for each other user's rows in a transaction of that user's: only the stuck user is
 * refused. README: "one stuck user never takes the others' requests down with it".
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

const outcome = (p: Promise<unknown>) => p.then(() => 'taken', (e) => (e instanceof GatewayError ? e.code : String(e)))

test("a contended user's hold sharing a batch with a stuck user's is taken, not refused 503", async () => {
  // 5 s, not 1: four workers on two cores kept the other replicas' hot-user holds waiting past 750 ms on plain contention.
  // The defect refused the hot user on replica g at its SKIP LOCKED retry, whatever the deadline.
  const DEADLINE = 5_000
  const url = await pg.database('skip_locked_innocent')
  // Three replicas on one database.
  const stores = await Promise.all([0, 1, 2].map(() => PostgresStore.open(url, () => {}, DEADLINE)))
  const [g, h1, h2] = stores.map((s) => new Ledger(s.ledger, 60_000))
  const other = new SQL(url)
  const now = Date.now()
  await stores[0]!.sql`INSERT INTO users (id, max_budget, period_start, created_at, updated_at)
    VALUES ('a-hot', 1000000000, 0, ${now}, ${now}), ('z-stuck', 1000000000, 0, ${now}, ${now})`
  // A frozen replica's transaction holds the stuck user's row (a session nothing ends).
  const session = await other.reserve()
  await session`BEGIN`
  await session`SELECT 1 FROM users WHERE id = 'z-stuck' FOR UPDATE`
  // The other two replicas serve the hot user all along: ordinary contention, each batch holds its row for ms.
  let loading = true
  const hot: string[] = []
  const load = (l: Ledger) => (async () => {
    while (loading) hot.push(await outcome(l.reserve(holdFor('a-hot', 1))))
  })()
  const loaders = [...Array.from({ length: 4 }, () => load(h1!)), ...Array.from({ length: 4 }, () => load(h2!))]
  const seen: { hot: string; stuck: string }[] = []
  try {
    await Bun.sleep(300)
    for (let i = 0; i < 4; i++) {
      // The hot user's request and the stuck user's arrive together at replica g: one batch.
      const [h, s] = await Promise.all([outcome(g!.reserve(holdFor('a-hot', 1))), outcome(g!.reserve(holdFor('z-stuck', 1)))])
      seen.push({ hot: h, stuck: s })
    }
  } finally {
    loading = false
    await Promise.all(loaders)
    await session`COMMIT`
    session.release()
    await other.close()
    await Promise.all(stores.map((s) => s.close()))
  }
  // The other replicas served the busy user meanwhile (the load ran).
  expect(hot.length).toBeGreaterThan(0)
  console.log(JSON.stringify(seen), 'other replicas, hot user:', hot.filter((o) => o !== 'taken').length, 'refused of', hot.length)
  // The stuck user's holds are refused; the hot user's, whose row no session held for longer than a batch, are taken:
  // on replica g (sharing a batch with the stuck user) and on the other replicas (which never asked for the stuck user).
  expect({ g: seen.map((s) => s.hot), otherReplicasRefused: hot.filter((o) => o !== 'taken') })
    .toEqual({ g: ['taken', 'taken', 'taken', 'taken'], otherReplicasRefused: [] })
}, 60_000)
