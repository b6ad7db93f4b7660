/**
 * Deleting a user keeps its usage rows under its id (README), and `/v1/usage?user_id=` lists them; so does
 * `GET /v1/users/{id}/usage`, which once answered 404 for a user no longer there. An id with neither a user nor
 * rows is still unknown (404).
 */
import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { withMockGateway } from './support/mock-gateway'

let gw: TestGateway
withMockGateway({}, (s) => ({ gw } = s))

test("a deleted user's usage rows and totals are listed under its id", async () => {
  const { secret } = await gw.userWithKey({ id: 'gone-user', max_budget: 10 })
  for (let i = 0; i < 2; i++) {
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 }),
    })
    expect(res.status).toBe(200)
    await res.text()
  }
  await gw.settled()
  const before = await gw.admin('GET', '/v1/users/gone-user/usage')
  expect(before.status).toBe(200)
  expect(before.body.data.length).toBe(2)

  expect((await gw.admin('DELETE', '/v1/users/gone-user')).status).toBe(200)
  expect((await gw.admin('GET', '/v1/users/gone-user')).status).toBe(404)

  const after = await gw.admin('GET', '/v1/users/gone-user/usage')
  expect(after.status).toBe(200)
  expect(after.body.data.map((r: any) => r.request_id)).toEqual(before.body.data.map((r: any) => r.request_id))
  expect(after.body.totals).toEqual(before.body.totals)
  const listed = await gw.admin('GET', '/v1/usage?user_id=gone-user')
  expect(listed.body.data.map((r: any) => r.request_id)).toEqual(after.body.data.map((r: any) => r.request_id))
})

test('an id with neither a user nor rows is unknown: 404', async () => {
  const r = await gw.admin('GET', '/v1/users/never-a-user/usage')
  expect([r.status, r.body.error.code]).toEqual([404, 'user_not_found'])
})
