/**
 * No `/v1/*` answer may be kept by a shared cache in front of the gateway (a reverse proxy with a cache, a
 * CDN): a console request carries its session in a cookie, not in `Authorization`, so the HTTP caching
 * rules alone would let a cache keep the admin API's lists, a new key's secret or a caller's own usage.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { MASTER_KEY, startTestGateway, type TestGateway } from './support/gateway'
import { startMockProvider, type MockProvider } from './support/mock-provider'

let mock: MockProvider
let gw: TestGateway

beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({
    mock,
    config: { console_sign_ins_per_min: 1000 },
  })
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})

async function signIn(key: string) {
  const res = await fetch(`${gw.url}/v1/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: gw.url },
    body: JSON.stringify({ key }),
  })
  expect(res.status).toBe(200)
  const body: any = await res.json()
  return { cookie: (res.headers.get('set-cookie') ?? '').split(';', 1)[0]!, csrf: body.csrf_token as string }
}

/** A shared cache (a reverse proxy with proxy_cache, a CDN) may keep an answer unless it says no-store or private. */
const uncacheable = (cacheControl: string | null) => /\b(no-store|private)\b/i.test(cacheControl ?? '')

describe('cache headers on admin answers', () => {
  test('the answers that carry a new virtual key secret (create, rotate) are marked no-store', async () => {
    await gw.admin('POST', '/v1/users', { id: 'rtb-cache-secret' })
    const created = await gw.admin('POST', '/v1/keys', { user_id: 'rtb-cache-secret' })
    expect(created.status).toBe(201)
    expect(created.body.key).toStartWith('tg-')
    const rotated = await gw.admin('POST', `/v1/keys/${created.body.id}/rotate`)
    expect(rotated.status).toBe(200)
    expect(rotated.body.key).toStartWith('tg-')
    expect({
      create: created.headers.get('cache-control'),
      rotate: rotated.headers.get('cache-control'),
    }).toEqual({ create: expect.stringContaining('no-store'), rotate: expect.stringContaining('no-store') })
  })

  test('admin reads made with a console session cookie (no Authorization header) are not storable by a shared cache', async () => {
    await gw.userWithKey({ id: 'rtb-cache-read', alias: 'Confidential', max_budget: 5 })
    const admin = await signIn(MASTER_KEY)
    const storable: Record<string, string | null> = {}
    for (const path of ['/v1/users', '/v1/users/rtb-cache-read', '/v1/keys', '/v1/usage', '/v1/usage/summary', '/v1/audit', '/v1/alerts', '/v1/usage/overview']) {
      const res = await fetch(gw.url + path, { headers: { cookie: admin.cookie } })
      expect({ path, status: res.status }).toEqual({ path, status: 200 })
      await res.arrayBuffer()
      if (!uncacheable(res.headers.get('cache-control'))) storable[path] = res.headers.get('cache-control')
    }
    expect(storable).toEqual({})
  })

  test("a key session's own view (/v1/key, /v1/key/usage) is not storable by a shared cache", async () => {
    const { secret } = await gw.userWithKey({ id: 'rtb-cache-self', max_budget: 5 })
    const own = await signIn(secret)
    const storable: Record<string, string | null> = {}
    for (const path of ['/v1/key', '/v1/key/usage']) {
      const res = await fetch(gw.url + path, { headers: { cookie: own.cookie } })
      expect({ path, status: res.status }).toEqual({ path, status: 200 })
      await res.arrayBuffer()
      if (!uncacheable(res.headers.get('cache-control'))) storable[path] = res.headers.get('cache-control')
    }
    expect(storable).toEqual({})
  })
})
