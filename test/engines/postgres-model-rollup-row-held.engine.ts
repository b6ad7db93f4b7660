/**
 * On the Postgres store every settlement's usage row is summed by the rollup trigger (drizzle-pg/0003) into
 * usage_daily_models' one row per (day, model, status): a row that every user's settlement of that model that day
 * updates, on every replica. A transaction holding it (a replica frozen mid-settlement, which Postgres ends only
 * after idle_in_transaction_session_timeout, the deadline) stands for it here. Holds never write the rollups; the
 * settlements they carry do, and so do those sent on their own. Issue 15: the requests of users with nothing to do
 * with that transaction are answered at once while it lasts, not after the riders' lock wait, neither by the hold
 * that carries a settlement into it nor while a settlement sent on its own waits for it; and once it ends every
 * settlement lands once.
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

async function timed(request: Promise<Response>) {
  const started = performance.now()
  const res = await request
  await res.text()
  return { status: res.status, ms: Math.round(performance.now() - started) }
}

describe("today's model rollup row held by another transaction", () => {
  let gw: TestGateway
  let direct: InstanceType<typeof Bun.SQL>
  beforeAll(async () => {
    const url = await pg.database('model_rollup_row_held')
    gw = await startTestGateway({ mock, config: { database_url: url, database_timeout_ms: 2_000, pricing: PRICING } })
    direct = new Bun.SQL(url, { max: 2 })
  })
  afterAll(async () => {
    await gw?.stop()
    await direct?.close()
  })

  test("other users' requests are answered at once while it lasts, and every settlement lands once after", async () => {
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
    // Waiting for the row made every request carrying a settlement slow (86-198 ms, 37abfab8): nearly all of them.
    // One stretched by the machine (a GC, another process: a CI run saw one at >50 ms) is not that.
    expect(results.map((r) => r.status)).toEqual(results.map(() => 200))
    const slow = results.filter((r) => r.ms > 50).map((r) => r.ms)
    expect({ slow, of: results.length, tooMany: slow.length > Math.max(1, Math.floor(results.length / 10)) }).toMatchObject({ tooMany: false })

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
