import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway } from './support/gateway'

/**
 * README: "Deleting a user with requests in flight → 409", "a free model's request (a hold of 0) included". Such a
 * hold raises no `reserved`, so only the store's check (the reservation row, under the write lock) sees it.
 * (Mutation guard: userWithoutHolds in src/store/user-deletion.ts losing its `reserved = 0` / no-reservation clauses.)
 */
let mock: MockProvider
beforeAll(() => {
  mock = startMockProvider()
})
afterAll(() => mock.stop())

test('DELETE of a user with a free model\'s request in flight (a 0 µ$ hold) is 409, and the user is deleted once the request has ended', async () => {
  mock.reset()
  mock.behavior = 'hang'
  const gw = await startTestGateway({ mock, config: { pricing: { 'mock:gpt-mock': { input_per_million: 1, output_per_million: 2 }, 'mock:gpt-free': { input_per_million: 0, output_per_million: 0 } } } })
  const cut = new AbortController()
  try {
    const { secret } = await gw.userWithKey({ id: 'busy-del', max_budget: 10 })
    const open = fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'mock:gpt-free', stream: true, max_tokens: 1000, messages: [{ role: 'user', content: 'hi' }] }),
      signal: cut.signal,
    }).catch(() => null)
    for (let i = 0; i < 500 && mock.calls.length < 1; i++) await Bun.sleep(10)
    expect(gw.query('SELECT count(*) AS n FROM reservations WHERE user_id = ?', 'busy-del')[0].n).toBe(1)

    const refused = await gw.admin('DELETE', '/v1/users/busy-del')
    expect(refused.status).toBe(409)
    expect((await gw.admin('GET', '/v1/users/busy-del')).status).toBe(200)

    cut.abort()
    await open
    for (let i = 0; i < 500 && gw.query('SELECT count(*) AS n FROM reservations')[0].n > 0; i++) await Bun.sleep(10)
    await gw.settled()
    const deleted = await gw.admin('DELETE', '/v1/users/busy-del')
    expect(deleted.status).toBeLessThan(300)
  } finally {
    cut.abort()
    await gw.stop()
  }
})
