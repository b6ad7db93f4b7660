/**
 * On the Postgres store every settlement's usage row is summed by the rollup trigger (drizzle-pg/0003) into
 * usage_daily_models' one row per (day, model, status): a row that every user's settlement of that model that day
 * updates, on every replica. A transaction holding it (a replica frozen mid-settlement, which Postgres ends only
 * after idle_in_transaction_session_timeout, the deadline) stands for it here. Holds never write the rollups; the
 * settlements they carry do, and so do those sent on their own. Issue 15: no hold waits for it while it lasts,
 * neither the batch that carries a settlement into it nor one behind a settlement sent on its own that waits for it
 * holding its user's row (but a user's own settlement found with its user's row held elsewhere too: README); and once
 * it ends every settlement lands once.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from '../support/mock-provider'
import { startTestGateway, type TestGateway } from '../support/gateway'
import { chat, longText, PRICING } from '../support/exact-model'
import { startPostgres, type TestPostgres } from './support/postgres'

let pg: TestPostgres
let mock: MockProvider
beforeAll(async () => {
  pg = await startPostgres()
  mock = startMockProvider({ completionText: longText })
})
afterAll(async () => {
  mock?.stop()
  await pg?.destroy()
})

const locksRollupRows = (statement: string) => statement.startsWith('SELECT 1 FROM usage_daily_models WHERE')

async function timed(request: Promise<Response>) {
  const started = performance.now()
  const res = await request
  await res.text()
  return { status: res.status, ms: Math.round(performance.now() - started) }
}

/**
 * Watches, until stopped, for a transaction that waits on `holder` (the session holding the row) having locked or
 * written rows of users or api_keys (the table locks FOR UPDATE and UPDATE take, not a read's), still waiting 40 ms
 * after it was first seen: not a rider's 5 ms bounded try. Returns the statements they waited in.
 */
function waitsOnTheRow(url: string, holder: number) {
  const watcher = new Bun.SQL(url, { max: 1 })
  const firstSeen = new Map<string, number>()
  const waitedHoldingUsers = new Map<string, string>()
  let samples = 0
  let stopped = false
  const watching = (async () => {
    while (!stopped) {
      const waiting = await watcher`
        SELECT a.pid, a.xact_start::text AS since, regexp_replace(left(a.query, 160), '\\s+', ' ', 'g') AS query FROM pg_stat_activity a
         WHERE ${holder}::int = ANY (pg_blocking_pids(a.pid))
           AND EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = a.pid AND l.granted AND l.mode IN ('RowShareLock', 'RowExclusiveLock')
                          AND l.relation IN ('users'::regclass, 'api_keys'::regclass))`
      samples++
      const now = performance.now()
      for (const w of waiting) {
        const id = `${w.pid} ${w.since}`
        if (!firstSeen.has(id)) firstSeen.set(id, now)
        else if (now - firstSeen.get(id)! >= 40) waitedHoldingUsers.set(id, w.query)
      }
      await Bun.sleep(2)
    }
  })()
  return {
    async stop() {
      stopped = true
      await watching
      await watcher.close()
      return { statements: [...waitedHoldingUsers.values()], samples }
    },
  }
}

describe("today's model rollup row held by another transaction", () => {
  let gw: TestGateway
  let direct: InstanceType<typeof Bun.SQL>
  let url: string
  beforeAll(async () => {
    url = await pg.database('model_rollup_row_held')
    gw = await startTestGateway({ mock, config: { database_url: url, database_timeout_ms: 2_000, pricing: PRICING } })
    direct = new Bun.SQL(url, { max: 2 })
  })
  afterAll(async () => {
    await gw?.stop()
    await direct?.close()
  })

  test('no hold waits for it, nor a settlement riding with one, and every settlement lands once after', async () => {
    const users = await Promise.all(['carol', 'alice', 'bob', 'dave'].map((id) => gw.userWithKey({ id, max_budget: 10 })))
    const [carol, ...others] = users
    for (const { secret } of users) expect((await fetch(`${gw.url}/v1/key`, { headers: { authorization: `Bearer ${secret}` } })).status).toBe(200)
    // Carol's request, settled, makes today's rollup row.
    expect((await timed(chat(gw.url, carol!.secret))).status).toBe(200)
    await gw.settled()
    const [{ n }] = await direct`SELECT count(*)::int AS n FROM usage_daily_models`
    expect(n).toBe(1)

    const locker = await direct.reserve()
    await locker`BEGIN`
    await locker`SELECT 1 FROM usage_daily_models FOR UPDATE`
    const [{ pid }] = await locker`SELECT pg_backend_pid() AS pid`
    const watch = waitsOnTheRow(url, pid)
    const results: Array<{ status: number; ms: number }> = []
    try {
      // Steady traffic for 1.8 s (short of the 2 s deadline), each user in turn: a settlement queued by one request
      // rides with the next one's hold, or is sent on its own.
      const until = performance.now() + 1_800
      for (let i = 0; performance.now() < until; i++) {
        results.push(await timed(chat(gw.url, others[i % others.length]!.secret)))
        await Bun.sleep(20)
      }
    } finally {
      await locker`ROLLBACK`
      locker.release()
    }
    expect(results.map((r) => r.status)).toEqual(results.map(() => 200))
    // Before 37abfab8 a few of these requests took 86-198 ms, and a loaded machine stretches requests as much: what
    // tells the defect is Postgres's own view. A hold's batch waited for the row, its users' rows held, the riders'
    // bound (then 100 ms), in SETTLE. The one wait for it holding a user's row now is that user's own settlement found
    // with its row held elsewhere too (settleIn), which locks the rollup rows before it settles, at most 100 ms
    // (72205cc5: without it a hot user's settlements on a hot model never landed).
    const { statements, samples } = await watch.stop()
    console.log({ samples, settleInWaits: statements.filter(locksRollupRows).length })
    expect(statements.filter((s) => !locksRollupRows(s))).toEqual([])

    await gw.settled()
    const [totals] = await direct`
      SELECT (SELECT count(*)::int FROM usage) AS usage, (SELECT count(*)::int FROM reservations) AS open,
             (SELECT sum(requests)::int FROM usage_daily_models) AS rolled_up,
             (SELECT sum(reserved)::bigint FROM users) AS reserved,
             (SELECT sum(spend)::bigint FROM users) AS spend, (SELECT sum(cost)::bigint FROM usage) AS cost`
    expect({ ...totals, reserved: Number(totals.reserved), spend: Number(totals.spend) }).toEqual({
      usage: results.length + 1, open: 0, rolled_up: results.length + 1, reserved: 0, spend: Number(totals.cost), cost: totals.cost,
    })
  }, 60_000)
})
