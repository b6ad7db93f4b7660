/**
 * SPEC §3: `budget_period` is `daily | weekly | monthly | null; calendar-aligned UTC`. A PATCH of budget_period
 * puts the user in the new kind's calendar period under way, its spend what the usage dated in it cost: a user
 * that has used up its budget in the current calendar period does not get it back by a change of kind. Here a
 * user whose weekly budget is spent is switched to a monthly period with the same budget: the calendar month
 * holds the week's usage, so the month's budget is spent too, and the next request is refused.
 * Runs on both stores (test/engines/stores.engine.ts).
 */
import { expect, test } from 'bun:test'
import { withMockGateway } from './support/mock-gateway'
import type { TestGateway } from './support/gateway'

let gw: TestGateway
withMockGateway({}, (s) => ({ gw } = s))

const chat = async (secret: string) =>
  (
    await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${secret}` },
      body: JSON.stringify({ model: 'mock:gpt-mock', max_tokens: 50, messages: [{ role: 'user', content: 'hello there' }] }),
    })
  ).status

test('switching a spent weekly budget to a monthly one keeps the calendar month\'s spend: the next request is still refused', async () => {
  const { secret } = await gw.userWithKey({ id: 'dc-period', budget_period: 'weekly', max_budget: null })
  expect(await chat(secret)).toBe(200)
  await gw.settled()
  const spent = (await gw.admin('GET', '/v1/users/dc-period')).body.spend as number
  expect(spent).toBeGreaterThan(0)

  // A budget that covers one more hold of this size, but not on top of what was spent this week.
  const [{ reserved: held }] = gw.query('SELECT reserved FROM usage WHERE user_id = ?', 'dc-period')
  const budget = (Math.round(spent * 1e6) + Number(held) - 1) / 1e6
  expect((await gw.admin('PATCH', '/v1/users/dc-period', { max_budget: budget })).status).toBe(200)
  expect(await chat(secret)).toBe(402)

  // Same budget, now per calendar month (which contains this week's request).
  const p = await gw.admin('PATCH', '/v1/users/dc-period', { budget_period: 'monthly' })
  expect(p.status).toBe(200)
  const now = new Date()
  const monthStart = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)).toISOString()

  // The month's budget is spent: refused, as it was a moment ago.
  expect(await chat(secret)).toBe(402)
  expect({ period_start: p.body.period_start, spend: p.body.spend }).toEqual({ period_start: monthStart, spend: spent })
})
