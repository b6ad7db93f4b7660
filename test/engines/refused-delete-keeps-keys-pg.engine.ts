/**
 * Postgres twin of test/refused-delete-keeps-keys.test.ts. README: "Deleting a user with requests in flight
 * → 409; otherwise its keys go with it", "a free model's request (a hold of 0) included": a user with a request
 * already in flight when the DELETE arrives keeps every key (only one begun during the delete may cost some).
 * (Mutation guard: the up-front `deletable` check in PostgresStore.deleteUser, src/store/postgres/store.ts:320-321,
 * dropped: the key batches then run, and only the final DELETE refuses, after the user's keys are gone.)
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from '../support/mock-provider'
import { startTestGateway } from '../support/gateway'
import { startPostgres, type TestPostgres } from './support/postgres'

let pg: TestPostgres
let mock: MockProvider
beforeAll(async () => {
  pg = await startPostgres()
  mock = startMockProvider()
})
afterAll(async () => {
  mock?.stop()
  await pg?.destroy()
})

test('Postgres: a DELETE refused for a request in flight (free model, 0 µ$ hold) leaves the user every key, still working', async () => {
  const url = await pg.database('guard_refused_delete')
  mock.reset()
  mock.behavior = 'hang'
  const gw = await startTestGateway({ mock, config: { database_url: url, pricing: { 'mock:gpt-mock': { input_per_million: 1, output_per_million: 2 }, 'mock:gpt-free': { input_per_million: 0, output_per_million: 0 } } } })
  const sql = new Bun.SQL(url)
  const cut = new AbortController()
  try {
    const { secret } = await gw.userWithKey({ id: 'busy-keys', max_budget: 10 })
    const open = fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'mock:gpt-free', stream: true, max_tokens: 1000, messages: [{ role: 'user', content: 'hi' }] }),
      signal: cut.signal,
    }).catch(() => null)
    for (let i = 0; i < 500 && mock.calls.length < 1; i++) await Bun.sleep(10)
    expect(Number((await sql`SELECT count(*)::int AS n FROM reservations WHERE user_id = 'busy-keys'`)[0].n)).toBe(1)

    const refused = await gw.admin('DELETE', '/v1/users/busy-keys')
    expect(refused.status).toBe(409)
    expect(Number((await sql`SELECT count(*)::int AS n FROM api_keys WHERE user_id = 'busy-keys'`)[0].n)).toBe(1)
    const me = await fetch(`${gw.url}/v1/key`, { headers: { authorization: `Bearer ${secret}` } })
    expect(me.status).toBe(200)
    cut.abort()
    await open
  } finally {
    cut.abort()
    await sql.close()
    await gw.stop()
  }
})
