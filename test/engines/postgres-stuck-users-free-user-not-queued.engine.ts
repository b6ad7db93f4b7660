/**
 * A user left out of a reservation batch because its row was busy at that instant was queued for its own wait
 * (reserveWhenFree) a few users at a time, in order, each with the batch's lock wait. With four stuck users ahead of it
 * in the same batch (rows held elsewhere: an operator's transaction, a frozen replica), their waits filled every slot
 * for the whole ¾-deadline; the free user's turn came once its own wait had ended and it was refused 503
 * database_unavailable, though its row was busy for some 30 ms only. Now each left-out user is first tried with a
 * moment's wait, apart from the long waits, and only one whose rows are still held then waits for a slot.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { SQL } from 'bun'
import { startMockProvider, type MockProvider } from '../support/mock-provider'
import { startTestGateway, type TestGateway } from '../support/gateway'
import { startPostgres, type TestPostgres } from './support/postgres'

let pg: TestPostgres
let mock: MockProvider
beforeAll(async () => {
  pg = await startPostgres()
  mock = startMockProvider({ latencyMs: 50 })
})
afterAll(async () => {
  mock?.stop()
  await pg?.destroy()
})

const chat = (url: string, secret: string) =>
  fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'hi' }], max_tokens: 16 }),
  })

const timed = async (p: Promise<Response>, since: number) => {
  const r = await p
  const body = await r.text()
  return { status: r.status, ms: Date.now() - since, body: r.status === 200 ? '' : body.slice(0, 200) }
}

test("a user whose row was busy for an instant is not refused behind four stuck users' waits", async () => {
  const url = await pg.database('stuck_users_free_user')
  const gw: TestGateway = await startTestGateway({ mock, config: { database_url: url, database_timeout_ms: 3_000 } })
  const other = new SQL(url)
  const [stuckSession, freeSession, gateSession] = [await other.reserve(), await other.reserve(), await other.reserve()]
  let free = { status: 0, ms: 0, body: '' }
  let stuckStatuses: number[] = []
  try {
    const stuck = await Promise.all([1, 2, 3, 4].map((i) => gw.userWithKey({ id: `stuck${i}`, max_budget: 1000 })))
    const freeUser = await gw.userWithKey({ id: 'free', max_budget: 1000 })
    const gate = await gw.userWithKey({ id: 'gate', max_budget: 1000 })
    for (const u of [...stuck, freeUser, gate]) expect((await timed(chat(gw.url, u.secret), Date.now())).status).toBe(200)

    // Four users' rows held elsewhere for seconds; the free user's for a moment; `gate`'s to keep a batch in flight
    // while the others' requests gather into the next one.
    await stuckSession`BEGIN`
    await stuckSession`SELECT 1 FROM users WHERE id IN ('stuck1', 'stuck2', 'stuck3', 'stuck4') FOR UPDATE`
    await freeSession`BEGIN`
    await freeSession`SELECT 1 FROM users WHERE id = 'free' FOR UPDATE`
    await gateSession`BEGIN`
    await gateSession`SELECT 1 FROM users WHERE id = 'gate' FOR UPDATE`

    const t0 = Date.now()
    const gateReq = timed(chat(gw.url, gate.secret), t0)
    await Bun.sleep(20)
    const stuckReqs = stuck.map((u) => timed(chat(gw.url, u.secret), t0))
    await Bun.sleep(20)
    const freeSince = Date.now()
    const freeReq = timed(chat(gw.url, freeUser.secret), freeSince)
    await Bun.sleep(20)
    // The batch in flight ends; the next one takes the stuck users' and the free user's holds together.
    await gateSession`COMMIT`
    await Bun.sleep(30)
    // The free user's row is free again, ~50 ms after its request came.
    await freeSession`COMMIT`
    free = await freeReq
    stuckStatuses = (await Promise.all(stuckReqs)).map((r) => r.status)
    await gateReq
  } finally {
    await stuckSession`COMMIT`.catch(() => {})
    await freeSession`COMMIT`.catch(() => {})
    await gateSession`COMMIT`.catch(() => {})
    stuckSession.release()
    freeSession.release()
    gateSession.release()
    await other.close()
    await gw.stop()
  }
  console.log('free user:', free, 'stuck users:', stuckStatuses)
  // Its row was free ~50 ms after it asked: served, and not seconds later.
  expect(free.status).toBe(200)
  expect(free.ms).toBeLessThan(1_000)
}, 60_000)
