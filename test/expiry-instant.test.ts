/**
 * SPEC §4 / README: an expired key is refused 401. `expires_at` is the first instant the key no longer works:
 * at exactly that millisecond it is refused, by the key cache (src/keys/key-store.ts, `callerOf`) and by the
 * hold's own read of the key row (src/budget/ledger.ts, `isLiveKey`), which is what guards money when the
 * cache is behind. The clock is frozen (setSystemTime) so the request lands on the instant itself: an
 * off-by-one (`<` for `<=`, `>=` for `>`) accepts the key for one more millisecond and calls the provider.
 */
import { afterEach, beforeEach, expect, setSystemTime, test } from 'bun:test'
import type { MockProvider } from './support/mock-provider'
import type { TestGateway } from './support/gateway'
import { withMockGateway } from './support/mock-gateway'

let mock: MockProvider
let gw: TestGateway

// A cache that outlives the test: the second test changes the row behind it, as another replica would.
withMockGateway({ cache_ttl_ms: 600_000 }, (started) => ({ mock, gw } = started))
beforeEach(() => mock.reset())
afterEach(() => setSystemTime())

const chat = (secret: string) =>
  fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'hello' }] }),
  })
const models = (secret: string) => fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } })

async function statusAndCode(res: Response) {
  const body = (await res.json()) as any
  return [res.status, body.error?.code ?? null]
}

test('a cached key is refused 401 at exactly its expires_at, before any provider call', async () => {
  const t0 = Math.ceil(Date.now() / 1000) * 1000 + 5_000
  setSystemTime(new Date(t0))
  const expiresAt = t0 + 60_000
  const { secret } = await gw.userWithKey({ id: 'expiry-instant-cache', max_budget: 10 }, { expires_at: new Date(expiresAt).toISOString() })
  // Live (and now cached) a millisecond before.
  setSystemTime(new Date(expiresAt - 1))
  expect((await chat(secret)).status).toBe(200)
  mock.reset()
  // The instant itself: expired.
  setSystemTime(new Date(expiresAt))
  expect(await statusAndCode(await models(secret))).toEqual([401, 'invalid_api_key'])
  expect(await statusAndCode(await chat(secret))).toEqual([401, 'invalid_api_key'])
  expect(mock.calls.length).toBe(0)
})

test('an expiry set behind the cache to this very instant: the hold refuses 401, no provider call, nothing held', async () => {
  const t0 = Math.ceil(Date.now() / 1000) * 1000 + 5_000
  setSystemTime(new Date(t0))
  const { secret, keyId } = await gw.userWithKey({ id: 'expiry-instant-hold', max_budget: 10 })
  expect((await chat(secret)).status).toBe(200)
  mock.reset()
  // Another replica set the key to expire now; this process's cache still has it without an expiry.
  gw.exec('UPDATE api_keys SET expires_at = ? WHERE id = ?', t0, keyId)
  expect(await statusAndCode(await chat(secret))).toEqual([401, 'invalid_api_key'])
  expect(mock.calls.length).toBe(0)
  await gw.settled()
  const [user] = gw.query('SELECT reserved FROM users WHERE id = ?', 'expiry-instant-hold')
  expect(Number(user.reserved)).toBe(0)
})
