/**
 * A key's `rpm_limit` is a positive whole number or null (no limit of its own). 0 or a negative number is refused with
 * a 400 naming it: read by the limiter, 0 is either every request refused (a key that cannot be used, with a 429 that
 * says to wait) or, through a falsy check, no limit at all, the opposite of what the operator asked for.
 * Kills: keys.ts `rpm_limit: z.number().int().positive()` → `z.number().int()`.
 */
import { beforeAll, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { withMockGateway } from './support/mock-gateway'

let gw: TestGateway
withMockGateway({}, (started) => ({ gw } = started))
beforeAll(async () => {
  expect((await gw.admin('POST', '/v1/users', { id: 'rpm-owner' })).status).toBe(201)
})

test('rpm_limit 0 or negative → 400 naming it, at create and at PATCH', async () => {
  const got: string[] = []
  for (const rpm of [0, -1]) {
    const r = await gw.admin('POST', '/v1/keys', { user_id: 'rpm-owner', rpm_limit: rpm })
    got.push(`POST ${rpm} → ${r.status}${String(r.body?.error?.message ?? '').includes('rpm_limit') ? ' naming it' : ''}`)
  }
  const k = await gw.admin('POST', '/v1/keys', { user_id: 'rpm-owner', rpm_limit: 5 })
  for (const rpm of [0, -1]) {
    const r = await gw.admin('PATCH', `/v1/keys/${k.body.id}`, { rpm_limit: rpm })
    got.push(`PATCH ${rpm} → ${r.status}${String(r.body?.error?.message ?? '').includes('rpm_limit') ? ' naming it' : ''}`)
  }
  expect(got).toEqual(['POST 0 → 400 naming it', 'POST -1 → 400 naming it', 'PATCH 0 → 400 naming it', 'PATCH -1 → 400 naming it'])
  expect((await gw.admin('GET', `/v1/keys/${k.body.id}`)).body.rpm_limit).toBe(5)
})
