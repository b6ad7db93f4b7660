/**
 * A key's `expires_at` must be in the future: POST refuses a past one with a 400 naming it (keys.test.ts), and so
 * must PATCH, which goes through the same check. A PATCH that took a past time (a year typed wrong) would answer 200
 * and turn the key off at once, every client on it getting 401s, with nothing telling the operator why.
 * Kills: keys.ts PATCH's `checkExpiry(body.expires_at, now)` dropped.
 */
import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { withMockGateway } from './support/mock-gateway'

let gw: TestGateway
withMockGateway({}, (started) => ({ gw } = started))

test('PATCH expires_at in the past → 400 naming the field; the key keeps its expiry and keeps working', async () => {
  const { secret, keyId } = await gw.userWithKey({ id: 'patch-expiry' })
  const r = await gw.admin('PATCH', `/v1/keys/${keyId}`, { expires_at: new Date(Date.now() - 60_000).toISOString() })
  expect({ status: r.status, names: String(r.body?.error?.message ?? '').includes('expires_at') }).toEqual({ status: 400, names: true })
  expect((await gw.admin('GET', `/v1/keys/${keyId}`)).body.expires_at).toBeNull()
  const own = await fetch(`${gw.url}/v1/key`, { headers: { authorization: `Bearer ${secret}` } })
  expect(own.status).toBe(200)
})
