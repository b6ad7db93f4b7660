/**
 * A NUL character, which Postgres text and jsonb cannot hold (SQLSTATE 22P05), in what a request brings to
 * the write path: a model name, the user the master key bills, a stored response's id, an admin body. Each is
 * refused as on SQLite (a 404 for what cannot exist, a 400 for an admin body), never a 500; and no row Postgres
 * refuses can stop the replica's ledger: a batch refused for its data goes a row at a time, its text made
 * storable (U+FFFD), and a row still refused is dropped, logged and counted (its hold left to the sweeper).
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { Ledger } from '../../src/budget/ledger'
import { droppedRows } from '../../src/store/postgres/batch'
import { PostgresStore } from '../../src/store/postgres/store'
import { done, holdFor } from '../support/ledger-contract'
import { startMockProvider, type MockProvider } from '../support/mock-provider'
import { startTestGateway, type TestGateway } from '../support/gateway'
import { startPostgres, type TestPostgres } from './support/postgres'

let pg: TestPostgres
let mock: MockProvider
beforeAll(async () => {
  pg = await startPostgres()
  mock = startMockProvider()
})
afterAll(async () => {
  await mock?.stop()
  await pg?.destroy()
})

const chat = (gw: TestGateway, secret: string, model: string) =>
  fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 10 }),
  })

describe('require_pricing off: a model name with a NUL in it', () => {
  test('is answered without a 500, and the requests after it are still served and recorded', async () => {
    const gw = await startTestGateway({ mock, config: { require_pricing: false, database_url: await pg.database('nul_model') } })
    try {
      const { secret } = await gw.userWithKey({ id: 'mallory', max_budget: 10 })
      const victim = await gw.userWithKey({ id: 'victim', max_budget: 10 })
      expect((await chat(gw, victim.secret, 'mock:gpt-mock')).status).toBe(200)

      // One key holder's request with a NUL in its model name.
      const bad = await chat(gw, secret, 'mock:x\u0000y')

      // Everyone else's requests afterwards: served and settled as before.
      await Bun.sleep(1_000)
      const after = await chat(gw, victim.secret, 'mock:gpt-mock')
      expect(after.status).toBe(200)
      await gw.settled()
      const usage = await gw.admin('GET', '/v1/usage?user_id=victim')
      expect(usage.status).toBe(200)
      expect(usage.body.data).toHaveLength(2)
      // And the request itself is refused (or served and recorded) rather than failing inside the gateway.
      expect(bad.status).not.toBe(500)
      // No model id has a control character: an unknown model, before any hold.
      expect(bad.status).toBe(404)
      expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('model_not_found')
    } finally {
      await gw.stop()
    }
  }, 60_000)
})

describe('a NUL in what an inference request names', () => {
  let gw: TestGateway
  let secret: string
  beforeAll(async () => {
    gw = await startTestGateway({ mock, config: { database_url: await pg.database('nul_bodies') } })
    ;({ secret } = await gw.userWithKey({ id: 'dave', max_budget: 10 }))
  })
  afterAll(async () => {
    await gw?.stop()
  })

  test('the master key billing a user whose id has a NUL: 404 user_not_found, as on SQLite (no user can have one)', async () => {
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { ...gw.master, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'mock:gpt-mock', user: 'd\u0000ve', messages: [{ role: 'user', content: 'hi' }], max_tokens: 10 }),
    })
    expect(res.status).toBe(404)
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('user_not_found')
  })

  test.each([
    ['previous_response_id', { previous_response_id: 'resp_\u0000' }, 'response_not_found'],
    ['conversation', { conversation: 'conv_\u0000' }, 'conversation_not_found'],
    ['an item reference', { input: [{ type: 'item_reference', id: 'msg_\u0000' }] }, 'item_not_found'],
  ])('a Responses request continuing a stored id with a NUL (%s): 404, never stored', async (_, fields, code) => {
    const res = await fetch(`${gw.url}/v1/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'mock:gpt-mock', input: 'hi', max_output_tokens: 10, ...fields }),
    })
    expect(res.status).toBe(404)
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe(code)
  })

  test('a NUL in an admin body (a key name, a price’s model, a user’s alias): 400 naming the field, nothing written', async () => {
    const key = await gw.admin('POST', '/v1/keys', { user_id: 'dave', name: 'k\u0000' })
    expect(key.status).toBe(400)
    expect(key.body.error.message).toContain('name')
    const price = await gw.admin('POST', '/v1/pricing', { model: 'mock:x\u0000', input_per_million: 1, output_per_million: 1 })
    expect(price.status).toBe(400)
    const alias = await gw.admin('PATCH', '/v1/users/dave', { alias: '\u0000' })
    expect(alias.status).toBe(400)
    // And the gateway goes on: requests served and recorded.
    expect((await chat(gw, secret, 'mock:gpt-mock')).status).toBe(200)
    expect((await gw.admin('GET', '/v1/usage?user_id=dave')).body.data).toHaveLength(1)
  })
})

describe('Postgres ledger: a row Postgres refuses for its data never stops the ledger', () => {
  let store: PostgresStore
  let ledger: Ledger
  const errors: string[] = []
  beforeAll(async () => {
    store = await PostgresStore.open(await pg.database('nul_ledger'), (e) => errors.push(String(e)))
    ledger = new Ledger(store.ledger, 60_000)
    const now = Date.now()
    await store.sql`INSERT INTO users (id, max_budget, period_start, created_at, updated_at) VALUES ('u', 100000, 0, ${now}, ${now})`
  })
  afterAll(async () => {
    await store?.close()
  })

  test('a hold and its settlement whose model has a NUL (past the registry) are written with U+FFFD in its place', async () => {
    const hold = await ledger.reserve({ ...holdFor('u', 100), model: 'mock:x\u0000y' })
    hold.settle(done(7))
    await ledger.flush()
    const [row] = await store.sql`SELECT model, cost::int FROM usage WHERE request_id = ${hold.taken.request.requestId}`
    expect(row).toEqual({ model: 'mock:x\ufffdy', cost: 7 })
    // Released instead (as a failed batch whose COMMIT was sent releases): the same.
    const released = await ledger.reserve({ ...holdFor('u', 100), model: 'mock:\u0000' })
    released.release(1)
    expect((await ledger.reserve(holdFor('u', 1))).remainingAfter).toBeGreaterThan(0)
    await ledger.flush()
    const [r] = await store.sql`SELECT model FROM usage WHERE request_id = ${released.taken.request.requestId}`
    expect(r.model).toBe('mock:\ufffd')
  })

  test('a settlement Postgres refuses even alone (a cost out of range), carried by a reservation: the reservation is taken, the others written, that one dropped, logged and counted, its hold left for the sweeper', async () => {
    const before = droppedRows.count
    const bad = await ledger.reserve(holdFor('u', 100))
    const good = await ledger.reserve(holdFor('u', 100))
    bad.settle(done(2 ** 70))
    good.settle(done(5))
    // Both settlements ride in this reservation's transaction, which Postgres refuses for the bad one.
    const next = await ledger.reserve(holdFor('u', 10))
    next.settle(done(1))
    await ledger.flush()
    const rows = await store.sql`SELECT request_id, cost::int FROM usage WHERE request_id IN ${store.sql([bad.taken.request.requestId, good.taken.request.requestId, next.taken.request.requestId])}`
    expect(rows.map((r: { request_id: string }) => r.request_id).sort()).toEqual([good.taken.request.requestId, next.taken.request.requestId].sort())
    expect(droppedRows.count).toBe(before + 1)
    expect(errors.some((e) => e.includes('dropped'))).toBe(true)
    // Not lost: its hold is still there, for the sweeper to charge.
    const [open] = await store.sql`SELECT count(*)::int AS n FROM reservations WHERE request_id = ${bad.taken.request.requestId}`
    expect(open.n).toBe(1)
    // And the ledger goes on.
    const later = await ledger.reserve(holdFor('u', 10))
    later.settle(done(2))
    await ledger.flush()
    const [last] = await store.sql`SELECT cost::int FROM usage WHERE request_id = ${later.taken.request.requestId}`
    expect(last.cost).toBe(2)
  })

  test('a request-log row with a NUL riding in a reservation: the reservation is taken, and the row written with U+FFFD', async () => {
    store.appendRequestLog({
      createdAt: Date.now(), requestId: 'log-nul', method: 'GET', route: '/v1/x\u0000', status: 200, latencyMs: 1, clientIp: null, keyId: null, userId: null,
    })
    const hold = await ledger.reserve(holdFor('u', 10))
    hold.settle(done(1))
    await store.flush()
    const [row] = await store.sql`SELECT route FROM api_request_log WHERE request_id = 'log-nul'`
    expect(row.route).toBe('/v1/x\ufffd')
  })
})
