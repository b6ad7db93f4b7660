import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway } from './support/gateway'

/**
 * README: "Deleting a user with requests in flight → 409; otherwise its keys go with it", "A user with a request in
 * flight is not deleted (409), a free model's request (a hold of 0) included". Only a request begun *during* the
 * delete may leave the user without some keys. A user with a request already in flight when the DELETE arrives must
 * keep every key: its callers keep working.
 * (Mutation guard: the store's up-front userWithoutHolds check in deleteUser, src/store/sqlite/store.ts:226, dropped:
 * the keys then go a batch at a time and only the final statement refuses, so a free model's request in flight,
 * which the route's `reserved > 0` check cannot see, loses every key of its user behind a 409.)
 */
let mock: MockProvider
beforeAll(() => {
  mock = startMockProvider()
})
afterAll(() => mock.stop())

test('a DELETE refused for a request in flight (free model, 0 µ$ hold) leaves the user every key, still working', async () => {
  mock.reset()
  mock.behavior = 'hang'
  const gw = await startTestGateway({ mock, config: { pricing: { 'mock:gpt-mock': { input_per_million: 1, output_per_million: 2 }, 'mock:gpt-free': { input_per_million: 0, output_per_million: 0 } } } })
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
    expect(gw.query('SELECT count(*) AS n FROM reservations WHERE user_id = ?', 'busy-keys')[0].n).toBe(1)

    const refused = await gw.admin('DELETE', '/v1/users/busy-keys')
    expect(refused.status).toBe(409)
    // The user is kept, and so are its keys.
    expect(gw.query('SELECT count(*) AS n FROM api_keys WHERE user_id = ?', 'busy-keys')[0].n).toBe(1)
    const me = await fetch(`${gw.url}/v1/key`, { headers: { authorization: `Bearer ${secret}` } })
    expect(me.status).toBe(200)
    cut.abort()
    await open
  } finally {
    cut.abort()
    await gw.stop()
  }
})
