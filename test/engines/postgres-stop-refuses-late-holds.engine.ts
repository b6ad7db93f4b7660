/**
 * A stop takes no hold once it has cut the calls (Ledger.reserve), and a Postgres store none once its close has
 * begun: a request whose price lookup answers only while the store is closing (the price table locked for a
 * moment, as a migration or VACUUM FULL does, past the grace) is refused 503 gateway_stopping before any hold.
 * Before, its hold was committed, its call not sent (the calls were cut), and its release dropped by the
 * settlement writer the close had already closed: the hold stayed in `reservations` for the sweeper to charge in
 * full as `expired` at the next start, for a request the provider never received (README: "A call not yet sent
 * by then is not sent: released, $0. Nothing is left open for the sweeper").
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from '../support/mock-provider'
import { spawnGateway } from '../support/gateway'
import { chat, longText, PRICING } from '../support/exact-model'
import { startPostgres, type TestPostgres } from './support/postgres'

let pg: TestPostgres
let mock: MockProvider
beforeAll(async () => {
  pg = await startPostgres()
  mock = startMockProvider({ completionText: longText, latencyMs: 10 })
})
afterAll(async () => {
  mock?.stop()
  await pg?.destroy()
})

test('a request whose price lookup answers during the stop leaves no hold open for the sweeper', async () => {
  const url = await pg.database('stop_late_hold')
  const gw = await spawnGateway({
    mock,
    config: { pricing: PRICING },
    env: { TOLLGATE_DATABASE_URL: url, TOLLGATE_SHUTDOWN_GRACE_MS: '500', TOLLGATE_DATABASE_TIMEOUT_MS: '10000' },
  })
  const direct = new Bun.SQL(url)
  const locker = await direct.reserve()
  try {
    const { secret } = await gw.userWithKey({ id: 'u', max_budget: 1 })
    expect((await chat(gw.url, secret)).status).toBe(200) // the key is cached
    // A price change: the next request reads the price table again.
    expect((await gw.admin('POST', '/v1/pricing', { model: 'mock:other', input_per_million: 1, output_per_million: 1 })).status).toBe(201)
    await gw.settled()
    const callsBefore = mock.calls.filter((c) => c.path === '/v1/chat/completions').length

    // The price table (and the request log, so that the stop's store close is still writing when the lock goes) locked for a moment.
    await locker`BEGIN`
    await locker`LOCK TABLE prices, api_request_log IN ACCESS EXCLUSIVE MODE`
    const answer = chat(gw.url, secret).then((r) => r.status, () => 0)
    // A request answered now queues a request-log row, which the lock keeps the stop writing.
    expect((await fetch(`${gw.url}/v1/key`, { headers: { authorization: `Bearer ${secret}` } })).status).toBe(200)
    await Bun.sleep(200) // the chat waits on its price lookup
    gw.proc.kill('SIGTERM')
    await Bun.sleep(2500) // the grace (0.5 s) is over with the lookup still waiting; the listener closed about 1 s later; the store is closing
    await locker`COMMIT`
    await answer
    await gw.proc.exited

    expect(mock.calls.filter((c) => c.path === '/v1/chat/completions').length).toBe(callsBefore) // never sent
    const [{ n: openHolds }] = await direct`SELECT count(*)::int AS n FROM reservations`
    const [{ reserved }] = await direct`SELECT reserved::bigint AS reserved FROM users WHERE id = 'u'`
    expect({ openHolds, reserved: Number(reserved) }).toEqual({ openHolds: 0, reserved: 0 })
  } finally {
    await locker`ROLLBACK`.catch(() => {})
    locker.release()
    gw.proc.kill('SIGKILL')
    await gw.stop()
    await direct.close()
  }
}, 60_000)
