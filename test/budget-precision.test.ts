import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startTestGateway, type TestGateway } from './support/gateway'

let gw: TestGateway

beforeAll(async () => {
  gw = await startTestGateway()
})
afterAll(async () => {
  await gw.stop()
})

/** A budget finer than the ledger's micro-USD is refused, as a price that fine is: never rounded (0.0000004 → 0). */
describe('budgets are whole micro-USD', () => {
  test("a user's max_budget finer than one micro-USD → 400 naming the field, on create and update", async () => {
    const created = await gw.admin('POST', '/v1/users', { id: 'fine-budget', max_budget: 0.0000004 })
    expect(created.status).toBe(400)
    expect(created.body.error.message).toMatch(/\bmax_budget\b.*micro-USD/)
    expect((await gw.admin('GET', '/v1/users/fine-budget')).status).toBe(404)

    expect((await gw.admin('POST', '/v1/users', { id: 'whole-budget', max_budget: 0.000001 })).status).toBe(201)
    const patched = await gw.admin('PATCH', '/v1/users/whole-budget', { max_budget: 1.0000005 })
    expect(patched.status).toBe(400)
    expect(patched.body.error.message).toMatch(/\bmax_budget\b.*micro-USD/)
    expect((await gw.admin('GET', '/v1/users/whole-budget')).body.max_budget).toBe(0.000001)
  })

  test("a key's max_budget finer than one micro-USD → 400 naming the field, on create and update", async () => {
    expect((await gw.admin('POST', '/v1/users', { id: 'key-owner' })).status).toBe(201)
    const created = await gw.admin('POST', '/v1/keys', { user_id: 'key-owner', max_budget: 0.0000004 })
    expect(created.status).toBe(400)
    expect(created.body.error.message).toMatch(/\bmax_budget\b.*micro-USD/)

    const key = await gw.admin('POST', '/v1/keys', { user_id: 'key-owner', max_budget: 2.5 })
    expect(key.status).toBe(201)
    const patched = await gw.admin('PATCH', `/v1/keys/${key.body.id}`, { max_budget: 0.1234567 })
    expect(patched.status).toBe(400)
    expect(patched.body.error.message).toMatch(/\bmax_budget\b.*micro-USD/)
    expect((await gw.admin('GET', `/v1/keys/${key.body.id}`)).body.max_budget).toBe(2.5)
  })
})
