/**
 * Red team (jq) asked: README said a change of budget period "weekly to monthly keeps the week's spend"; a week
 * that began in the previous month (Monday 30 November, changed on Saturday 5 December) has spend dated before the
 * 1st, which the new monthly period does not count. That is the calendar's rule (SPEC §3: calendar-aligned UTC),
 * not spend forgiven: the monthly period is the calendar month under way, and spend dated before its start is the
 * month before's, as a monthly user's November spend never counts against December. What a change of kind must
 * not hand back is spend dated in the new period: every cent of that is kept, the week's included. README now says
 * so. Runs on both stores (test/engines/stores.engine.ts).
 */
import { expect, test } from 'bun:test'
import { withMockGateway } from './support/mock-gateway'
import type { TestGateway } from './support/gateway'

let gw: TestGateway
withMockGateway({}, (s) => ({ gw } = s))

/** A settled usage row of `cost` micro-USD dated `at`, written behind the gateway's back (the change counts usage rows). */
const usageAt = (userId: string, n: number, at: number, cost: number) =>
  gw.exec(
    `INSERT INTO usage (request_id, created_at, user_id, key_id, model, provider, endpoint, prompt_tokens, completion_tokens, cached_tokens, cost, reserved, status)
     VALUES (?, ?, ?, NULL, 'mock:gpt-mock', 'mock', '/v1/chat/completions', 1, 1, 0, ?, 0, 'ok')`,
    `${userId}-${n}`, at, userId, cost,
  )

test('weekly to monthly: the spend dated since the 1st is kept, the spend dated before it is the month before\'s', async () => {
  await gw.userWithKey({ id: 'pk-first', budget_period: 'weekly', max_budget: 100 })
  const now = new Date()
  const monthStart = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)
  usageAt('pk-first', 1, monthStart - 1, 5_000_000) // the last millisecond of the month before (in this week when it began then)
  usageAt('pk-first', 2, monthStart, 2_000_000) // the first of this month's
  usageAt('pk-first', 3, Math.max(monthStart, Date.now() - 1000), 1_000_000) // a moment ago

  const p = await gw.admin('PATCH', '/v1/users/pk-first', { budget_period: 'monthly' })
  expect(p.status).toBe(200)
  expect({ period_start: p.body.period_start, spend: p.body.spend }).toEqual({ period_start: new Date(monthStart).toISOString(), spend: 3 })

  // Back to weekly and on to monthly again: nothing dated in the month is handed back by toggling.
  expect((await gw.admin('PATCH', '/v1/users/pk-first', { budget_period: 'weekly' })).status).toBe(200)
  const again = await gw.admin('PATCH', '/v1/users/pk-first', { budget_period: 'monthly' })
  expect(again.body.spend).toBe(3)
})
