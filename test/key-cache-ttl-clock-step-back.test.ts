/**
 * A revoked key must get 401 from every process within `TOLLGATE_CACHE_TTL_MS` even when the host's
 * clock has stepped backwards (NTP correction, VM resumed). SPEC §4: unknown, expired, revoked → 401; README: a
 * verified key is trusted in memory for the cache TTL, other processes see a revoke within it (without Redis).
 * KeyStore.verifyHash trusts an entry while `now - fetchedAt <= ttl`, which a step back of an hour keeps true (negative)
 * for an hour: the revoked key keeps being accepted on the other process by every route that trusts the cache
 * (`/v1/models`; `/v1/key` and holds re-read the row and refuse it, asserted here as the reference), and a key whose
 * `allowed_models` was emptied keeps calling (and paying for) the model: 403 `model_not_allowed` is not applied.
 *
 * Two gateways on one SQLite file (as TOLLGATE_WORKERS runs them, or two replicas without Redis), one host clock.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'

let mock: MockProvider
beforeAll(() => {
  mock = startMockProvider()
})
afterAll(async () => {
  await mock.stop()
})

const asKey = (gw: TestGateway, secret: string, path: string) => fetch(`${gw.url}${path}`, { headers: { authorization: `Bearer ${secret}` } })

test('a key revoked through another process gets 401 within the cache TTL after the clock stepped back', async () => {
  const realNow = Date.now
  const a = await startTestGateway({ mock, config: { log_level: 'silent' } })
  let b: TestGateway | undefined
  try {
    b = await startTestGateway({ mock, config: { log_level: 'silent', db: a.dbPath } })
    const { secret, keyId } = await a.userWithKey({ id: 'u', max_budget: 100 })
    // a verifies (and caches) the key.
    expect((await asKey(a, secret, '/v1/key')).status).toBe(200)

    // NTP steps the host's clock back an hour; the operator revokes the key through the other process.
    Date.now = () => realNow() - 3_600_000
    const revoked = await b.admin("DELETE", `/v1/keys/${keyId}`)
    expect(revoked.status).toBeLessThan(300)
    expect((await asKey(b, secret, '/v1/key')).status).toBe(401)

    // Past the cache TTL (5 s) of real time, a refuses it too.
    await Bun.sleep(6_000)
    expect({
      key: (await asKey(a, secret, '/v1/key')).status,
      usage: (await asKey(a, secret, '/v1/key/usage')).status,
      models: (await asKey(a, secret, '/v1/models')).status,
    }).toEqual({ key: 401, usage: 401, models: 401 })
  } finally {
    Date.now = realNow
    await b?.stop()
    await a.stop()
  }
}, 60_000)

test('a model taken off a key through another process is refused 403 within the cache TTL after the clock stepped back', async () => {
  const realNow = Date.now
  const a = await startTestGateway({ mock, config: { log_level: 'silent' } })
  let b: TestGateway | undefined
  const chat = (gw: TestGateway, secret: string) =>
    fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'hello' }], max_tokens: 20 }),
    })
  try {
    b = await startTestGateway({ mock, config: { log_level: 'silent', db: a.dbPath } })
    const { secret, keyId } = await a.userWithKey({ id: 'u', max_budget: 100 })
    const first = await chat(a, secret)
    expect(first.status).toBe(200)
    await first.text()

    Date.now = () => realNow() - 3_600_000
    // The operator takes every model off the key through the other process.
    const patched = await b.admin('PATCH', `/v1/keys/${keyId}`, { allowed_models: [] })
    expect(patched.status).toBe(200)
    expect((await chat(b, secret)).status).toBe(403)

    await Bun.sleep(6_000)
    const calls = mock.calls.length
    const res = await chat(a, secret)
    const body = (await res.json()) as { error?: { code?: string } }
    expect({ status: res.status, code: body?.error?.code, upstreamCalls: mock.calls.length - calls }).toEqual({
      status: 403,
      code: 'model_not_allowed',
      upstreamCalls: 0,
    })
  } finally {
    Date.now = realNow
    await b?.stop()
    await a.stop()
  }
}, 60_000)
