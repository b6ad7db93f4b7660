/**
 * A change of budget period kind made while the clock is behind the user's stored period (an NTP
 * step back across midnight, or — on Postgres or several processes — a PATCH through a replica a few seconds
 * behind the one that rolled the period) moved period_start back and counted into it usage rows dated after that
 * period's end. The next hold rolled that back-dated period, and those rows landed in `last_period_spend`: the new
 * period started without them, and its budget was spent twice. Now a clock behind the stored period is taken
 * as at its start (src/store/period-kind.ts).
 *
 * README "How money is handled": "spend is always what the usage rows dated since period_start cost"; SPEC §6:
 * concurrent requests can never together reserve past the budget (of a period). ledger.ts settlementRollTo: "Never
 * rolls back". Here each request costs exactly its hold (test/support/exact-model.ts: 50 µUSD), the monthly budget is
 * 100 µUSD (two requests); March 2028 had admitted and billed three.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway } from './support/gateway'
import { chat, HOLD_USD, longText, PRICING } from './support/exact-model'

let mock: MockProvider
beforeAll(() => {
  mock = startMockProvider({ completionText: longText })
})
afterAll(async () => {
  await mock.stop()
})

const MARCH_1 = Date.UTC(2028, 2, 1) // the day after Feb 29 of a leap year

test('a period kind changed while the clock is behind the stored period does not forgive the new period its spend', async () => {
  const realNow = Date.now
  const at = (t: number) => {
    const base = realNow()
    Date.now = () => t + (realNow() - base)
  }
  at(MARCH_1 + 20_000) // 2028-03-01T00:00:20Z
  const gw = await startTestGateway({ mock, config: { pricing: PRICING, log_level: 'silent' } })
  try {
    const budget = 2 * HOLD_USD
    const { secret } = await gw.userWithKey({ id: 'u', max_budget: budget, budget_period: 'daily' })
    // 00:00:20 on March 1: the first request of the day (and of March), 50 µUSD, its usage row dated in March.
    expect((await chat(gw.url, secret)).status).toBe(200)
    await gw.settled()

    // NTP steps the clock back a minute (it ran ahead); meanwhile the operator moves the user to a monthly budget.
    at(MARCH_1 - 40_000) // 2028-02-29T23:59:20Z
    const patched = await gw.admin('PATCH', '/v1/users/u', { budget_period: 'monthly' })
    expect(patched.status).toBe(200)

    // The clock is right again: still March 1. The monthly budget is two requests, one of them already spent in March.
    at(MARCH_1 + 60_000)
    const statuses: number[] = []
    for (let i = 0; i < 3; i++) statuses.push((await chat(gw.url, secret)).status)
    await gw.settled()

    const user = (await gw.admin('GET', '/v1/users/u')).body
    const rows = gw.query<{ created_at: number; cost: number }>('SELECT created_at, cost FROM usage WHERE user_id = ?', 'u')
    const periodStart = Date.parse(user.period_start)
    const marchCost = rows.filter((r) => r.created_at >= periodStart).reduce((s, r) => s + r.cost, 0) / 1e6
    expect(user.period_start).toBe('2028-03-01T00:00:00.000Z')
    // Of the three requests after the step, only one fits March's budget: 200, 402, 402.
    // The bug: 200, 200, 402 — March is billed 150 µUSD on a 100 µUSD budget, and its spend shows 100 µUSD.
    expect({ statuses, spend: user.spend, marchUsage: marchCost }).toEqual({ statuses: [200, 402, 402], spend: budget, marchUsage: budget })
  } finally {
    Date.now = realNow
    await gw.stop()
  }
}, 60_000)
