import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { MASTER_KEY, startTestGateway, type TestGateway } from './support/gateway'

let mock: MockProvider
let gw: TestGateway
let secret: string

beforeAll(async () => {
  mock = startMockProvider()
  gw = await startTestGateway({ mock, config: { pricing: { 'mock:gpt-mock': { input_per_million: 1, output_per_million: 2 } } } })
  secret = (await gw.userWithKey({ id: 'payer' })).secret
  await gw.admin('POST', '/v1/users', { id: 'broke', max_budget: 0 })
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})

async function post(path: string, key: string, body: Record<string, unknown>) {
  const res = await fetch(gw.url + path, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  return { status: res.status, body: (await res.json()) as any, requestId: res.headers.get('x-request-id')! }
}
const chat = (key: string, extra: Record<string, unknown>) =>
  post('/v1/chat/completions', key, { model: 'mock:gpt-mock', messages: [{ role: 'user', content: 'hi' }], ...extra })

async function loggedUser(requestId: string) {
  await gw.settled()
  return gw.query('SELECT status, key_id, user_id FROM api_request_log WHERE request_id = ?', requestId)[0]
}

describe('the user the master key names is resolved before the model is priced', () => {
  test('an unknown user → 404 user_not_found, whether the model is priced, unpriced or exempt from pricing', async () => {
    const cases = [
      await chat(MASTER_KEY, { user: 'nobody' }),
      await chat(MASTER_KEY, { user: 'nobody', model: 'mock:unpriced' }),
      await post('/v1/moderations', MASTER_KEY, { model: 'mock:omni-moderation', input: 'hi', user: 'nobody' }),
    ]
    for (const r of cases) {
      expect(r.status).toBe(404)
      expect(r.body.error.code).toBe('user_not_found')
    }
    expect(mock.calls.length).toBe(0)
  })
})

describe('a refusal is recorded against the user who would have paid', () => {
  test('master key naming an existing user: 402 budget_exceeded and pricing_required rows carry that user', async () => {
    const overBudget = await chat(MASTER_KEY, { user: 'broke' })
    expect(overBudget.status).toBe(402)
    expect(overBudget.body.error.code).toBe('budget_exceeded')
    expect(await loggedUser(overBudget.requestId)).toEqual({ status: 402, key_id: 'master', user_id: 'broke' })

    const unpriced = await chat(MASTER_KEY, { user: 'broke', model: 'mock:unpriced' })
    expect(unpriced.status).toBe(402)
    expect(unpriced.body.error.code).toBe('pricing_required')
    expect(await loggedUser(unpriced.requestId)).toEqual({ status: 402, key_id: 'master', user_id: 'broke' })
  })

  test("a key naming another user: the 403 user_mismatch row carries the key's own user", async () => {
    const r = await chat(secret, { user: 'broke' })
    expect(r.status).toBe(403)
    expect(r.body.error.code).toBe('user_mismatch')
    expect((await loggedUser(r.requestId)).user_id).toBe('payer')
  })
})

describe('creating users and keys refuses fields it does not know', () => {
  test('a misspelt budget is a 400 naming it, not a user or key without a ceiling', async () => {
    const user = await gw.admin('POST', '/v1/users', { id: 'typo-user', max_budjet: 1 })
    expect(user.status).toBe(400)
    expect(user.body.error.message).toContain('max_budjet')
    expect((await gw.admin('GET', '/v1/users/typo-user')).status).toBe(404)

    const key = await gw.admin('POST', '/v1/keys', { user_id: 'payer', max_budgte: 1 })
    expect(key.status).toBe(400)
    expect(key.body.error.message).toContain('max_budgte')
    const keys = (await gw.admin('GET', '/v1/keys?user_id=payer')).body.data
    expect(keys.length).toBe(1)
  })
})
