/**
 * A blocked user's keys are refused (403) whatever their own state; GET /v1/keys says so with each key
 * (`user_blocked`), so that the console lists them as refused rather than "active" (red team kk).
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'

let gw: TestGateway
beforeAll(async () => {
  gw = await startTestGateway()
})
afterAll(async () => {
  await gw?.stop()
})

test('GET /v1/keys tells, for each key, whether its user is blocked', async () => {
  const blocked = await gw.userWithKey({ id: 'list-blocked' })
  const free = await gw.userWithKey({ id: 'list-free' })
  expect((await gw.admin('PATCH', '/v1/users/list-blocked', { blocked: true })).status).toBe(200)

  const all = (await gw.admin('GET', '/v1/keys')).body.data
  const shown = Object.fromEntries(all.map((k: any) => [k.id, k.user_blocked]))
  expect(shown).toEqual({ [blocked.keyId]: true, [free.keyId]: false })
  const ofOne = (await gw.admin('GET', '/v1/keys?user_id=list-blocked')).body.data
  expect(ofOne.map((k: any) => k.user_blocked)).toEqual([true])

  expect((await gw.admin('PATCH', '/v1/users/list-blocked', { blocked: false })).status).toBe(200)
  expect((await gw.admin('GET', '/v1/keys?user_id=list-blocked')).body.data.map((k: any) => k.user_blocked)).toEqual([false])
})
