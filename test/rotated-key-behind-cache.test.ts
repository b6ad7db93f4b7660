/**
 * Rotation is exact for whatever costs money, as revocation is (test/hold-refuses-dead-key.test.ts). A key
 * rotated through another replica whose change-feed message was lost (or a worker without Redis) is still
 * cached here under its old secret's hash until the TTL. The hold reads the key's row under its lock anyway:
 * it compares the row's current hash with the one the request authenticated with and refuses the old secret
 * with 401, before any provider call and holding nothing. The reads that check the key's row now (GET /v1/key,
 * count_tokens) compare it too. The new secret works at once. Runs on both stores (test/engines/stores.engine.ts).
 */
import { beforeEach, expect, test } from 'bun:test'
import { generateKey } from '../src/keys/secret'
import type { MockProvider } from './support/mock-provider'
import type { TestGateway } from './support/gateway'
import { withMockGateway } from './support/mock-gateway'

let mock: MockProvider
let gw: TestGateway

// A cache that outlives the test: only a read of the key's row can see the change.
withMockGateway({ cache_ttl_ms: 600_000 }, (started) => ({ mock, gw } = started))
beforeEach(() => mock.reset())

const json = (secret: string) => ({ authorization: `Bearer ${secret}`, 'content-type': 'application/json' })
const chat = (secret: string) =>
  fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: json(secret),
    body: JSON.stringify({ model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'hello' }] }),
  })
const messages = (secret: string) =>
  fetch(`${gw.url}/v1/messages`, {
    method: 'POST',
    headers: { 'x-api-key': secret, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'mock:gpt-mock', max_tokens: 50, messages: [{ role: 'user', content: 'hello' }] }),
  })
const countTokens = (secret: string) =>
  fetch(`${gw.url}/v1/messages/count_tokens`, {
    method: 'POST',
    headers: json(secret),
    body: JSON.stringify({ model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'hi' }] }),
  })
const ownKey = (secret: string) => fetch(`${gw.url}/v1/key`, { headers: json(secret) })
const models = (secret: string) => fetch(`${gw.url}/v1/models`, { headers: json(secret) })

/**
 * A user with a budget and a key whose old secret is cached here after one paid request, then rotated straight
 * in the database (as another replica would, its change-feed message lost): this process invalidates nothing.
 */
async function rotatedBehindCache(id: string) {
  const { secret: oldSecret, keyId } = await gw.userWithKey({ id, max_budget: 10 })
  expect((await chat(oldSecret)).status).toBe(200)
  expect((await ownKey(oldSecret)).status).toBe(200)
  mock.reset()
  const rotated = generateKey()
  gw.exec('UPDATE api_keys SET key_hash = ?, key_prefix = ?, updated_at = ? WHERE id = ?', rotated.hash, rotated.prefix, Date.now(), keyId)
  return { oldSecret, newSecret: rotated.secret }
}

/** What the user has held and been charged, once every settlement is written. */
async function ledgerOf(userId: string) {
  await gw.settled()
  const [user] = gw.query('SELECT reserved FROM users WHERE id = ?', userId)
  const [{ n }] = gw.query('SELECT count(*) AS n FROM usage WHERE user_id = ?', userId)
  return { reserved: Number(user.reserved), usageRows: Number(n), upstreamCalls: mock.calls.length }
}

const errorOf = async (res: Response) => [res.status, ((await res.json()) as any).error?.code]

test('a key rotated behind the cache: a paid request with the old secret is refused 401, no provider call, nothing held', async () => {
  const { oldSecret } = await rotatedBehindCache('rotated-behind-cache')
  expect((await models(oldSecret)).status).toBe(200) // still cached: calls that cost nothing and read nothing recorded follow the cache
  expect(await errorOf(await chat(oldSecret))).toEqual([401, 'invalid_api_key'])
  expect(await ledgerOf('rotated-behind-cache')).toEqual({ reserved: 0, usageRows: 1, upstreamCalls: 0 })
})

test('the new secret works at once, and its requests are held and charged as ever', async () => {
  const { oldSecret, newSecret } = await rotatedBehindCache('rotated-new-secret')
  expect((await chat(newSecret)).status).toBe(200)
  expect(await errorOf(await chat(oldSecret))).toEqual([401, 'invalid_api_key'])
  expect(await ledgerOf('rotated-new-secret')).toEqual({ reserved: 0, usageRows: 2, upstreamCalls: 1 })
})

test('on the Anthropic route the refusal is in its own error shape', async () => {
  const { oldSecret } = await rotatedBehindCache('rotated-behind-cache-messages')
  const res = await messages(oldSecret)
  expect([res.status, await res.json()]).toEqual([401, { type: 'error', error: { type: 'authentication_error', message: expect.any(String) } }])
  expect(await ledgerOf('rotated-behind-cache-messages')).toEqual({ reserved: 0, usageRows: 1, upstreamCalls: 0 })
})

test('the reads that check the key row (its own view, count_tokens) refuse the old secret too, and answer the new one', async () => {
  const { oldSecret, newSecret } = await rotatedBehindCache('rotated-behind-cache-reads')
  expect([(await ownKey(oldSecret)).status, (await countTokens(oldSecret)).status]).toEqual([401, 401])
  expect([(await ownKey(newSecret)).status, (await countTokens(newSecret)).status]).toEqual([200, 200])
})
