import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway } from './support/gateway'
import { mockChat } from './support/mock-chat'

/**
 * A key's ceiling changed (PATCH max_budget, a key that already had one) while one of its holds is open: the hold
 * is already carried by the key's `reserved` (key_debited = 1), so the takeover must not add it a second time.
 * Once the request ends, the key's `reserved` is back to 0 and its whole budget is usable again.
 * (Mutation guard: takeOverKeyHolds summing every hold of the key, not only those with key_debited = 0.)
 */
let mock: MockProvider
beforeAll(() => {
  mock = startMockProvider()
})
afterAll(() => mock.stop())

const chat = (url: string, key: string, signal?: AbortSignal) => mockChat(url, key, { stream: true, max_tokens: 100_000 }, signal)

test('raising a key ceiling while a hold is open on it does not count that hold twice: reserved is 0 once it ends', async () => {
  mock.reset()
  mock.behavior = 'hang'
  const gw = await startTestGateway({ mock })
  const cut = new AbortController()
  try {
    const { secret, keyId } = await gw.userWithKey({ id: 'k-owner' }, { max_budget: 1 })
    const open = chat(gw.url, secret, cut.signal).catch(() => null)
    for (let i = 0; i < 500 && mock.calls.length < 1; i++) await Bun.sleep(10)
    expect(mock.calls.length).toBe(1)
    const held = (await gw.admin('GET', `/v1/keys/${keyId}`)).body.reserved
    expect(held).toBeGreaterThan(0)

    const patched = await gw.admin('PATCH', `/v1/keys/${keyId}`, { max_budget: 2 })
    expect(patched.status).toBe(200)
    // The open hold counts once against the key, before and after the change.
    expect((await gw.admin('GET', `/v1/keys/${keyId}`)).body.reserved).toBe(held)

    cut.abort()
    await open
    for (let i = 0; i < 500 && gw.query('SELECT count(*) AS n FROM reservations')[0].n > 0; i++) await Bun.sleep(10)
    await gw.settled()
    const key = (await gw.admin('GET', `/v1/keys/${keyId}`)).body
    expect(key.reserved).toBe(0)
    expect(gw.query('SELECT reserved FROM api_keys WHERE id = ?', keyId)[0].reserved).toBe(0)
  } finally {
    cut.abort()
    await gw.stop()
  }
})
