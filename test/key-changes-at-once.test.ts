/**
 * README / SPEC §4: revoke and rotate take effect at once ("revoke → 401 from now on"; "the old secret stops
 * working now"), and a PATCH's settings apply to the key's next request. The paid routes are guarded twice (the
 * hold re-reads the key row), so only a route that follows the key cache shows whether the process that made the
 * change dropped its cached entry (src/routes/admin/keys.ts `changingKey` → KeyStore.invalidate). The cache TTL is
 * long here, as an operator may set it: without the invalidation the old state would be served for the whole TTL.
 */
import { beforeEach, expect, test } from 'bun:test'
import type { MockProvider } from './support/mock-provider'
import type { TestGateway } from './support/gateway'
import { withMockGateway } from './support/mock-gateway'

let mock: MockProvider
let gw: TestGateway

withMockGateway({ cache_ttl_ms: 600_000 }, (started) => ({ mock, gw } = started))
beforeEach(() => mock.reset())

const models = async (secret: string) => {
  const res = await fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } })
  const body = (await res.json()) as any
  return { status: res.status, code: body.error?.code ?? null, ids: Array.isArray(body.data) ? body.data.map((m: any) => m.id) : null }
}

test('revoke through this process: the revoked key is refused 401 at once on a route that follows the key cache', async () => {
  const { secret, keyId } = await gw.userWithKey({ id: 'revoke' })
  expect((await models(secret)).status).toBe(200) // cached as live
  expect((await gw.admin('DELETE', `/v1/keys/${keyId}`)).status).toBe(200)
  expect(await models(secret)).toMatchObject({ status: 401, code: 'invalid_api_key' })
})

test('rotate through this process: the old secret is refused 401 at once on a route that follows the key cache', async () => {
  const { secret, keyId } = await gw.userWithKey({ id: 'rotate' })
  expect((await models(secret)).status).toBe(200)
  const rotated = await gw.admin('POST', `/v1/keys/${keyId}/rotate`)
  expect(rotated.status).toBe(200)
  expect(await models(secret)).toMatchObject({ status: 401, code: 'invalid_api_key' })
  expect((await models(rotated.body.key)).status).toBe(200)
})

test('PATCH allowed_models through this process: the listing follows at once', async () => {
  const { secret, keyId } = await gw.userWithKey({ id: 'patch' })
  expect((await models(secret)).ids).toContain('mock:gpt-mock')
  expect((await gw.admin('PATCH', `/v1/keys/${keyId}`, { allowed_models: ['mock:other'] })).status).toBe(200)
  expect((await models(secret)).ids).not.toContain('mock:gpt-mock')
})
