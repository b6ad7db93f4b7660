/**
 * Revocation and expiry are exact for anything that costs money, whatever a process's key cache says. The key
 * cache is dropped at once by the process that revokes a key and, through Redis, by the others; a replica whose
 * message was lost (Redis down, a subscription broken) keeps serving the key from its cache until the TTL. The
 * hold reads the key's row under its lock anyway (for its ceiling): it refuses a revoked or expired key there,
 * with the 401 authentication gives, before any provider call and holding nothing, as it refuses a blocked user.
 * Runs on both stores (test/engines/stores.engine.ts).
 */
import { beforeEach, expect, test } from 'bun:test'
import type { MockProvider } from './support/mock-provider'
import type { TestGateway } from './support/gateway'
import { withMockGateway } from './support/mock-gateway'

let mock: MockProvider
let gw: TestGateway

// A cache that outlives the test: only the hold can see the change.
withMockGateway({ cache_ttl_ms: 600_000 }, (started) => ({ mock, gw } = started))
beforeEach(() => mock.reset())

const chat = (secret: string) =>
  fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'hello' }] }),
  })
const messages = (secret: string) =>
  fetch(`${gw.url}/v1/messages`, {
    method: 'POST',
    headers: { 'x-api-key': secret, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'mock:gpt-mock', max_tokens: 50, messages: [{ role: 'user', content: 'hello' }] }),
  })
const models = (secret: string) => fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } })

/** A user with a budget and a key whose caller is now cached, after one paid request. */
async function cachedKey(id: string) {
  const { secret, keyId } = await gw.userWithKey({ id, max_budget: 10 })
  expect((await chat(secret)).status).toBe(200)
  mock.reset()
  return { secret, keyId }
}

/** What the user has held and been charged, once every settlement is written. */
async function ledgerOf(userId: string) {
  await gw.settled()
  const [user] = gw.query('SELECT reserved FROM users WHERE id = ?', userId)
  const [{ n }] = gw.query('SELECT count(*) AS n FROM usage WHERE user_id = ?', userId)
  return { reserved: Number(user.reserved), usageRows: Number(n), upstreamCalls: mock.calls.length }
}

test('a key revoked behind the cache: a paid request is refused 401, no provider call, nothing held', async () => {
  const { secret, keyId } = await cachedKey('revoked-behind-cache')
  // As another replica revoking it, its change-feed message lost.
  gw.exec('UPDATE api_keys SET revoked_at = ? WHERE id = ?', Date.now(), keyId)
  expect((await models(secret)).status).toBe(200) // still cached: calls that cost nothing follow the cache
  const res = await chat(secret)
  expect([res.status, ((await res.json()) as any).error?.code]).toEqual([401, 'invalid_api_key'])
  expect(await ledgerOf('revoked-behind-cache')).toEqual({ reserved: 0, usageRows: 1, upstreamCalls: 0 })
})

test('a key whose expiry passed behind the cache: a paid request is refused 401, no provider call, nothing held', async () => {
  const { secret, keyId } = await cachedKey('expired-behind-cache')
  gw.exec('UPDATE api_keys SET expires_at = ? WHERE id = ?', Date.now() - 1_000, keyId)
  expect((await models(secret)).status).toBe(200)
  const res = await chat(secret)
  expect([res.status, ((await res.json()) as any).error?.code]).toEqual([401, 'invalid_api_key'])
  expect(await ledgerOf('expired-behind-cache')).toEqual({ reserved: 0, usageRows: 1, upstreamCalls: 0 })
})

test('on the Anthropic route the refusal is in its own error shape', async () => {
  const { secret, keyId } = await cachedKey('revoked-behind-cache-messages')
  gw.exec('UPDATE api_keys SET revoked_at = ? WHERE id = ?', Date.now(), keyId)
  const res = await messages(secret)
  expect([res.status, await res.json()]).toEqual([401, { type: 'error', error: { type: 'authentication_error', message: expect.any(String) } }])
  expect(await ledgerOf('revoked-behind-cache-messages')).toEqual({ reserved: 0, usageRows: 1, upstreamCalls: 0 })
})
