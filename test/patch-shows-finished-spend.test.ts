import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway } from './support/gateway'

/**
 * README: settlements ride the write queue's second lane (committed every 5 ms), and "every read of spend or usage in
 * this process commits the queue first". A PATCH of a user answers with its figures (spend, reserved, remaining): an
 * operator who lowers a budget right after a request finished must see that request's cost, not a spend and a
 * `remaining` from before it (and a period change must count it: src/routes/admin/users.ts:133-135).
 * (Mutation guard: the `await ledger.flush()` at the head of PATCH /v1/users/:id dropped.)
 */
let mock: MockProvider
beforeAll(() => {
  mock = startMockProvider()
})
afterAll(() => mock.stop())

test('a PATCH right after a request finished answers with that request in spend and nothing left reserved', async () => {
  mock.reset()
  const gw = await startTestGateway({ mock, config: { pricing: { 'mock:gpt-mock': { input_per_million: 1000, output_per_million: 2000 } } } })
  try {
    const { secret } = await gw.userWithKey({ id: 'patch-after', max_budget: 10 })
    for (let round = 1; round <= 5; round++) {
      const res = await fetch(`${gw.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'mock:gpt-mock', max_tokens: 50, messages: [{ role: 'user', content: `hi ${round}` }] }),
      })
      expect(res.status).toBe(200)
      await res.text()
      const patched = await gw.admin('PATCH', '/v1/users/patch-after', { alias: `round ${round}` })
      expect(patched.status).toBe(200)
      const fresh = await gw.admin('GET', '/v1/users/patch-after')
      // The GET flushes first; the PATCH's answer must already say the same.
      expect({ round, spend: patched.body.spend, reserved: patched.body.reserved, remaining: patched.body.remaining }).toEqual({
        round,
        spend: fresh.body.spend,
        reserved: 0,
        remaining: fresh.body.remaining,
      })
    }
  } finally {
    await gw.stop()
  }
})
