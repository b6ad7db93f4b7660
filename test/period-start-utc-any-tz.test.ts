import { afterAll, expect, test } from 'bun:test'
import { startTestGateway } from './support/gateway'

/**
 * README "How money is handled": periods roll "daily, weekly from Monday, monthly; calendar-aligned UTC". A host whose
 * TZ is not UTC (a container with TZ=Pacific/Kiritimati, UTC+14, or America/Los_Angeles) must still start a user's
 * period at UTC midnight / UTC Monday / the UTC 1st: a local-time start moves the roll by hours, which hands out
 * a fresh budget before the UTC day has ended (or charges the old day's budget after it).
 * (Mutation guard: src/budget/period.ts periodStart computing its midnight with getFullYear/getMonth/getDate/getDay
 * (local) instead of the getUTC* forms: every test host runs in UTC, so no test saw it.)
 */
const savedTz = process.env.TZ
afterAll(() => {
  if (savedTz === undefined) delete process.env.TZ
  else process.env.TZ = savedTz
})

function utcStarts(now: number) {
  const d = new Date(now)
  const day = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate())
  return {
    daily: new Date(day).toISOString(),
    weekly: new Date(day - ((d.getUTCDay() + 6) % 7) * 86_400_000).toISOString(),
    monthly: new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1)).toISOString(),
  }
}

for (const tz of ['Pacific/Kiritimati', 'America/Los_Angeles']) {
  test(`with TZ=${tz} a user's daily, weekly and monthly periods start at the UTC calendar boundary`, async () => {
    process.env.TZ = tz
    const gw = await startTestGateway()
    try {
      for (const period of ['daily', 'weekly', 'monthly'] as const) {
        const before = Date.now()
        const res = await gw.admin('POST', '/v1/users', { id: `tz-${period}`, max_budget: 5, budget_period: period })
        expect(res.status).toBe(201)
        const body = res.body as { period_start: string }
        const after = Date.now()
        // The UTC boundary in force when the request was made (the same before and after unless it straddled one).
        const expected = utcStarts(after)[period]
        if (utcStarts(before)[period] !== expected) continue
        expect({ period, period_start: body.period_start }).toEqual({ period, period_start: expected })
        // And once changed to another kind and back (newPeriodKind), still the UTC boundary.
        const patched = await gw.admin('PATCH', `/v1/users/tz-${period}`, { budget_period: period === 'daily' ? 'weekly' : 'daily' })
        expect(patched.status).toBe(200)
        const back = await gw.admin('PATCH', `/v1/users/tz-${period}`, { budget_period: period })
        expect((back.body as { period_start: string }).period_start).toBe(expected)
      }
    } finally {
      await gw.stop()
    }
  })
}
