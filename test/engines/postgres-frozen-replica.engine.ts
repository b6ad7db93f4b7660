/**
 * One replica frozen (SIGSTOP: `docker pause`, a VM paused, a cgroup freezer, a stop-the-world stall) while its
 * transaction holds a shared user's row lock. kill -9 closes the socket and Postgres ends the transaction at once; a
 * frozen process keeps the connection open, and nothing ended a session idle inside a transaction: every other
 * replica's holds for that user waited on the lock and were refused 503 for as long as the freeze lasted, and with
 * them those of every user whose holds shared a reservation batch with that user's. Now Postgres ends a store
 * session left idle in a transaction past the deadline (idle_in_transaction_session_timeout), a batch's lock waits
 * end short of the deadline, and then the holds whose rows are free are taken while the others are refused; a
 * settlement batch settles the users whose rows are free first.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'bun:test'
import { SQL } from 'bun'
import { Ledger } from '../../src/budget/ledger'
import { GatewayError } from '../../src/http/errors'
import { PostgresStore } from '../../src/store/postgres/store'
import { done, holdFor } from '../support/ledger-contract'
import { startMockProvider, type MockProvider } from '../support/mock-provider'
import { spawnGateway, type SpawnedGateway } from '../support/gateway'
import { chat, longText, PRICING } from '../support/exact-model'
import { startPostgres, type TestPostgres } from './support/postgres'

let pg: TestPostgres
let mock: MockProvider
beforeAll(async () => {
  pg = await startPostgres()
  mock = startMockProvider({ completionText: longText, latencyMs: 5 })
})
afterAll(async () => {
  mock?.stop()
  await pg?.destroy()
})

test('a replica frozen mid-transaction on a shared user: the other replica serves that user again within seconds', async () => {
  const url = await pg.database('frozen_replica')
  const env = { TOLLGATE_DATABASE_URL: url }
  const a: SpawnedGateway = await spawnGateway({ mock, config: { pricing: PRICING }, env })
  const b: SpawnedGateway = await spawnGateway({ mock, config: { pricing: PRICING }, env })
  const sql = new Bun.SQL(url)
  let frozen = false
  try {
    const { secret } = await a.userWithKey({ id: 'team', max_budget: 1000 })
    // A user A never served: none of its rows is locked by A.
    const other = await b.userWithKey({ id: 'other', max_budget: 1000 })
    // Both replicas busy on the one user: their gated writes keep finding the other's figures, and batches go
    // through the row locks (lock, decide, then write: two round trips).
    let loading = true
    const load = (g: SpawnedGateway) => (async () => {
      while (loading) await chat(g.url, secret).then((r) => r.text(), () => null)
    })()
    const loaders = [...Array.from({ length: 12 }, () => load(a)), ...Array.from({ length: 12 }, () => load(b))]
    await Bun.sleep(1000)
    // Freeze A at a moment its session holds a lock inside an open transaction (try until one is caught).
    // A session idle inside a transaction that has locked rows of users (its reservation batch's row locks), for
    // longer than a live replica ever leaves one: the frozen replica's.
    const holdingLocks = async () =>
      Number((await sql`SELECT count(*)::int AS n FROM pg_stat_activity a
        WHERE a.datname = current_database() AND a.state = 'idle in transaction' AND now() - a.state_change > interval '250 ms'
          AND EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = a.pid AND l.granted AND l.relation = 'users'::regclass)`)[0].n)
    let caught = false
    for (let i = 0; i < 200 && !caught; i++) {
      a.proc.kill('SIGSTOP')
      frozen = true
      await Bun.sleep(300)
      if ((await holdingLocks()) > 0) caught = true
      else {
        a.proc.kill('SIGCONT')
        frozen = false
        await Bun.sleep(Math.random() * 20)
      }
    }
    expect(caught).toBe(true)
    loading = false
    const frozenAt = Date.now()
    // A stays frozen for 12 s. B is asked for the same user throughout.
    const seen: { t: number; status: number }[] = []
    const seenOther: { t: number; status: number }[] = []
    while (Date.now() - frozenAt < 12_000) {
      // The shared user's request and another user's, as they arrive together at a busy replica.
      const [r, o] = await Promise.all([chat(b.url, secret), chat(b.url, other.secret)])
      await Promise.all([r.text(), o.text()])
      seen.push({ t: Date.now() - frozenAt, status: r.status })
      seenOther.push({ t: Date.now() - frozenAt, status: o.status })
      await Bun.sleep(200)
    }
    a.proc.kill('SIGCONT')
    frozen = false
    await Promise.all(loaders.slice(12))
    // Thawed: B serves the user at once (what held it back was A's open transaction).
    await Bun.sleep(500)
    const thawed = await chat(b.url, secret)
    await thawed.text()
    expect(thawed.status).toBe(200)
    const late = seen.filter((s) => s.t >= 6_000)
    // From 6 s into the freeze (twice the 3 s database deadline) B serves the user again.
    expect(late.length).toBeGreaterThan(0)
    expect({ team: late.filter((s) => s.status !== 200).map((s) => s.status), other: seenOther.filter((s) => s.status !== 200).map((s) => s.status) })
      .toEqual({ team: [], other: [] })
    await Promise.all(loaders)
    // A, whose sessions Postgres ended while it was frozen, serves again on new ones, without a restart.
    const statuses: number[] = []
    for (let i = 0; i < 3; i++) {
      const r = await chat(a.url, secret)
      await r.text()
      statuses.push(r.status)
    }
    expect(statuses.at(-1)).toBe(200)
  } finally {
    if (frozen) a.proc.kill('SIGCONT')
    await sql.close()
    await Promise.all([a.stop(), b.stop()])
  }
}, 90_000)

describe("Postgres ledger: a user's row another session holds past the batch's lock wait", () => {
  const DEADLINE = 1_000
  let store: PostgresStore
  let ledger: Ledger
  let other: SQL
  let n = 0
  beforeEach(async () => {
    const url = await pg.database(`row_held_elsewhere_${++n}`)
    store = await PostgresStore.open(url, () => {}, DEADLINE)
    ledger = new Ledger(store.ledger, 60_000)
    // Another process's session, whose transactions nothing ends.
    other = new SQL(url)
    const now = Date.now()
    await store.sql`INSERT INTO users (id, max_budget, period_start, created_at, updated_at) VALUES ('busy', 1000, 0, ${now}, ${now}), ('free', 1000, 0, ${now}, ${now})`
  })
  afterEach(async () => {
    await store.close()
    await other.close()
  })
  const holdingBusy = async () => {
    const session = await other.reserve()
    await session`BEGIN`
    await session`SELECT 1 FROM users WHERE id = 'busy' FOR UPDATE`
    return async () => {
      await session`COMMIT`
      session.release()
    }
  }
  const outcome = (p: Promise<unknown>) => p.then(() => 'taken', (e) => (e instanceof GatewayError ? e.code : e))
  const figures = async () =>
    Object.fromEntries((await store.sql`SELECT id, spend::int, reserved::int FROM users ORDER BY id`).map((u: any) => [u.id, { spend: u.spend, reserved: u.reserved }]))

  test('the batch takes the holds whose rows are free within the deadline, and refuses the others 503', async () => {
    const release = await holdingBusy()
    try {
      const started = performance.now()
      const [busy, free] = await Promise.all([outcome(ledger.reserve(holdFor('busy', 100))), outcome(ledger.reserve(holdFor('free', 100)))])
      expect({ busy, free }).toEqual({ busy: 'database_unavailable', free: 'taken' })
      // The batch stops waiting for the row at 750 ms (rowsLockWaitMs), inside the deadline; a loaded machine runs that
      // late (an engines run with five workers: 1,024 ms). A batch that waited for the row would wait until it is let go.
      expect(performance.now() - started).toBeLessThan(DEADLINE * 1.5)
    } finally {
      await release()
    }
    expect(await figures()).toEqual({ busy: { spend: 0, reserved: 0 }, free: { spend: 0, reserved: 100 } })
    // The row is free again: its holds are taken as usual.
    expect(await outcome(ledger.reserve(holdFor('busy', 100)))).toBe('taken')
  })

  test('a settlement batch settles the users whose rows are free at once, and the others once their rows are', async () => {
    const [busy, free] = await Promise.all([ledger.reserve(holdFor('busy', 100)), ledger.reserve(holdFor('free', 100))])
    const release = await holdingBusy()
    try {
      busy.settle(done(30))
      free.settle(done(40))
      for (let i = 0; i < 40 && (await figures()).free.spend === 0; i++) await Bun.sleep(25)
      expect(await figures()).toEqual({ busy: { spend: 0, reserved: 100 }, free: { spend: 40, reserved: 0 } })
    } finally {
      await release()
    }
    await ledger.flush()
    expect(await figures()).toEqual({ busy: { spend: 30, reserved: 0 }, free: { spend: 40, reserved: 0 } })
  })

  test("a store session left idle inside a transaction is ended at the deadline, and its rows' locks with it", async () => {
    const stalled = await store.sql.reserve()
    await stalled`BEGIN`
    await stalled`SELECT 1 FROM users WHERE id = 'busy' FOR UPDATE`
    await Bun.sleep(DEADLINE * 1.5)
    expect(await outcome(ledger.reserve(holdFor('busy', 100)))).toBe('taken')
    expect(await stalled`SELECT 1`.then(() => 'answered', () => 'ended')).toBe('ended')
    stalled.release()
  })
})
