/**
 * `remaining` is what a budget has left to hold: never below $0. Spend can pass a budget (the budget lowered
 * below it, or overshoot with cap-output off); the 402 message then says "$0.000000 remaining", and so do
 * /v1/users, /v1/users/{id} and /v1/key (for the key and for its user), which the console shows as they are.
 */
import { expect, test } from 'bun:test'
import { withMockGateway } from './support/mock-gateway'
import type { TestGateway } from './support/gateway'

let gw: TestGateway
withMockGateway({}, (s) => ({ gw } = s))

const chat = async (secret: string) => {
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${secret}` },
    body: JSON.stringify({ model: 'mock:gpt-mock', max_tokens: 50, messages: [{ role: 'user', content: 'hello there' }] }),
  })
  return { status: res.status, body: (await res.json()) as any }
}

test('a budget lowered below the spend shows $0 remaining everywhere the 402 says $0 remaining', async () => {
  const { secret, keyId } = await gw.userWithKey({ id: 'overdrawn', max_budget: 1 }, { max_budget: 1 })
  expect((await chat(secret)).status).toBe(200)
  await gw.settled()
  expect((await gw.admin('GET', '/v1/users/overdrawn')).body.spend).toBeGreaterThan(0.000001)

  expect((await gw.admin('PATCH', '/v1/users/overdrawn', { max_budget: 0.000001 })).status).toBe(200)
  expect((await gw.admin('PATCH', `/v1/keys/${keyId}`, { max_budget: 0.000001 })).status).toBe(200)

  const refused = await chat(secret)
  expect(refused.status).toBe(402)
  expect(refused.body.error.message).toContain('$0.000000 remaining')

  expect((await gw.admin('GET', '/v1/users/overdrawn')).body.remaining).toBe(0)
  const listed = (await gw.admin('GET', '/v1/users?limit=1000')).body.data.find((u: any) => u.id === 'overdrawn')
  expect(listed.remaining).toBe(0)
  const self = (await fetch(`${gw.url}/v1/key`, { headers: { authorization: `Bearer ${secret}` } }).then((r) => r.json())) as any
  expect({ key: self.remaining, user: self.user.remaining }).toEqual({ key: 0, user: 0 })
})
