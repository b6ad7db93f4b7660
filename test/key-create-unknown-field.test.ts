/**
 * README: "Creating a user or a key refuses an unknown field (a misspelt `max_budget` must not create an unlimited
 * one)". The users side is pinned by users.test.ts; nothing pins the keys side: a key created with `max_budjet`
 * would be a key with no ceiling, spending up to its user's whole budget. The PATCH of a key likewise.
 * Kills: keys.ts createKey's `.strict()` dropped (and updateKey's).
 */
import { beforeAll, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { withMockGateway } from './support/mock-gateway'

let gw: TestGateway
withMockGateway({}, (started) => ({ gw } = started))
beforeAll(async () => {
  expect((await gw.admin('POST', '/v1/users', { id: 'strict-keys' })).status).toBe(201)
})

test('POST /v1/keys with a misspelt max_budget → 400 naming it, and no key is created', async () => {
  const r = await gw.admin('POST', '/v1/keys', { user_id: 'strict-keys', max_budjet: 5 })
  expect({ status: r.status, names: String(r.body?.error?.message ?? '').includes('max_budjet') }).toEqual({ status: 400, names: true })
  const keys = await gw.admin('GET', '/v1/keys?user_id=strict-keys')
  expect(keys.body.data).toEqual([])
})

test('PATCH /v1/keys/{id} with a misspelt field → 400, the key unchanged', async () => {
  const k = await gw.admin('POST', '/v1/keys', { user_id: 'strict-keys', max_budget: 1 })
  expect(k.status).toBe(201)
  const r = await gw.admin('PATCH', `/v1/keys/${k.body.id}`, { max_budget: 2, rpm_limt: 5 })
  expect({ status: r.status, names: String(r.body?.error?.message ?? '').includes('rpm_limt') }).toEqual({ status: 400, names: true })
  expect((await gw.admin('GET', `/v1/keys/${k.body.id}`)).body.max_budget).toBe(1)
})
