/**
 * The stop's grace waits for every request in handling, not only for bodies being read, open holds and provider
 * calls: a request between those (its key or price still being looked up, or admission's user check; no hold
 * yet) when SIGTERM comes is served within the grace. Before, it counted as nothing: the grace ended at once, the
 * calls were cut, and the request, once its lookup answered, was refused 503 gateway_stopping although the grace
 * (8 s here) had all the time in the world for it (README: "lets those in flight finish for
 * TOLLGATE_SHUTDOWN_GRACE_MS").
 *
 * On Postgres the window is as long as a lookup's round trip: here a key not cached yet, its query held up
 * 500 ms by a relay (a slow network, a busy server, a lock), well within the grace and the database deadline.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from '../support/mock-provider'
import { spawnGateway } from '../support/gateway'
import { chat, longText, PRICING } from '../support/exact-model'
import { startPostgres, type TestPostgres } from './support/postgres'
import { startTcpRelay } from './support/tcp-relay'

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

test('a request admitted before SIGTERM whose key lookup is still answering is served within the grace, not cut at once', async () => {
  const url = await pg.database('stop_grace_lookup')
  const relay = startTcpRelay(pg.port)
  const viaRelay = url.replace(`:${pg.port}/`, `:${relay.port}/`)
  const gw = await spawnGateway({
    mock,
    config: { pricing: PRICING },
    env: { TOLLGATE_DATABASE_URL: viaRelay, TOLLGATE_SHUTDOWN_GRACE_MS: '8000', TOLLGATE_DATABASE_TIMEOUT_MS: '10000' },
  })
  try {
    const { secret } = await gw.userWithKey({ id: 'u', max_budget: 1 })
    expect((await chat(gw.url, secret)).status).toBe(200)
    // A key never used: the request's first lookup of it is a query.
    const fresh = await gw.admin('POST', '/v1/keys', { user_id: 'u' })
    expect(fresh.status).toBe(201)
    await gw.settled()
    const callsBefore = mock.calls.filter((c) => c.path === '/v1/chat/completions').length

    relay.freeze()
    const answer = chat(gw.url, fresh.body.key).then(async (res) => ({ status: res.status, code: res.ok ? null : ((await res.json()) as any)?.error?.code }), (e) => ({ status: 0, code: String(e) }))
    await Bun.sleep(200) // the request is in, waiting on its key's query
    gw.proc.kill('SIGTERM')
    await Bun.sleep(300)
    relay.thaw() // the lookup answers 500 ms after the request came, 300 ms into an 8 s grace

    const got = await answer
    expect(got).toEqual({ status: 200, code: null })
    expect(mock.calls.filter((c) => c.path === '/v1/chat/completions').length).toBe(callsBefore + 1)
  } finally {
    relay.thaw()
    gw.proc.kill('SIGKILL')
    await gw.stop()
    relay.stop()
  }
}, 60_000)
