/**
 * On the Postgres store, something may hold a lock on `usage`, its daily rollups or the request log for minutes
 * (a VACUUM FULL, an index build without CONCURRENTLY, a LOCK TABLE, a newer replica's migration). Holds never
 * write those tables, but settlements and request-log rows do, and they ride in the next reservation batch's
 * transaction, or go on their own under their user's row lock. Their lock waits are bounded (lock_timeout): while
 * the lock lasts the holds, of the user who settles and of any other user on the replica, are taken at once, not
 * refused with 503 database_unavailable after the deadline; the settlements and log rows are kept and sent again,
 * and once the lock goes each lands exactly once (spend = the usage rows' costs, nothing left reserved, one usage
 * row, one rollup count and one log row per request).
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

/** The request's status, and whether it took over a second (the deadline is 2 s: a 503 after it is slow). */
async function timed(request: Promise<Response>) {
  const started = performance.now()
  const res = await request
  await res.text()
  return { status: res.status, slow: performance.now() - started > 1_000 }
}

const FAST_OK = { status: 200, slow: false }

describe('a lock on what only settlements and log rows write, and the holds', () => {
  let gw: TestGateway
  let direct: InstanceType<typeof Bun.SQL>
  beforeAll(async () => {
    const url = await pg.database('settlement_usage_lock')
    gw = await startTestGateway({ mock, config: { database_url: url, database_timeout_ms: 2_000, pricing: PRICING } })
    direct = new Bun.SQL(url, { max: 2 })
  })
  afterAll(async () => {
    await gw?.stop()
    await direct?.close()
  })

  for (const table of ['usage', 'usage_daily', 'api_request_log'])
    for (const carried of [false, true])
      test(`while \`${table}\` is locked, what is queued, ${carried ? "carried by another user's hold" : 'sent on its own'}, keeps no hold waiting, and lands once after`, async () => {
        const alice = await gw.userWithKey({ id: `alice-${table}-${carried}`, max_budget: 10 })
        const bob = await gw.userWithKey({ id: `bob-${table}-${carried}`, max_budget: 10 })
        for (const { secret } of [alice, bob])
          expect((await fetch(`${gw.url}/v1/key`, { headers: { authorization: `Bearer ${secret}` } })).status).toBe(200)
        await gw.settled()

        const locker = await direct.reserve()
        await locker`BEGIN`
        await locker.unsafe(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`)
        try {
          const first = await chat(gw.url, alice.secret)
          await first.text()
          expect(first.status).toBe(200)
          // Alice's settlement and log row are queued now: Bob's hold, at once, is the next reservation batch,
          // which carries them; else they are sent on their own a few milliseconds later.
          if (carried) expect(await timed(chat(gw.url, bob.secret))).toEqual(FAST_OK)
          await Bun.sleep(200)
          expect(await timed(chat(gw.url, alice.secret))).toEqual(FAST_OK)
          // Long enough for the queued rows to be tried again on their own.
          await Bun.sleep(700)
          const both = await Promise.all([timed(chat(gw.url, alice.secret)), timed(chat(gw.url, bob.secret))])
          expect(both).toEqual([FAST_OK, FAST_OK])
        } finally {
          await locker`ROLLBACK`
          locker.release()
        }

        await gw.settled()
        for (const [id, requests] of [[`alice-${table}-${carried}`, 3], [`bob-${table}-${carried}`, carried ? 2 : 1]] as const) {
          const [user] = await direct`SELECT spend::bigint AS spend, reserved::bigint AS reserved FROM users WHERE id = ${id}`
          const [usage] = await direct`
            SELECT count(*)::int AS n, count(DISTINCT request_id)::int AS requests, coalesce(sum(cost), 0)::bigint AS cost
              FROM usage WHERE user_id = ${id}`
          const [rollup] = await direct`SELECT coalesce(sum(requests), 0)::int AS n FROM usage_daily WHERE user_id = ${id}`
          const [open] = await direct`SELECT count(*)::int AS n FROM reservations WHERE user_id = ${id}`
          const [log] = await direct`SELECT count(*)::int AS n FROM api_request_log WHERE user_id = ${id} AND route = '/v1/chat/completions'`
          expect({ id, spend: Number(user.spend), reserved: Number(user.reserved), usage: usage.n, requests: usage.requests, rollup: rollup.n, open: open.n, log: log.n }).toEqual({
            id, spend: Number(usage.cost), reserved: 0, usage: requests, requests, rollup: requests, open: 0, log: requests,
          })
          expect(Number(usage.cost)).toBeGreaterThan(0)
        }
      }, 60_000)
})
