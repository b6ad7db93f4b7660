export type BudgetPeriod = 'daily' | 'weekly' | 'monthly'

export const DAY_MS = 86_400_000

/** Start of the calendar period (UTC) containing `now`; weeks start on Monday. Unlimited periods never roll: 0. */
export function periodStart(period: BudgetPeriod | null, now: number): number {
  if (period === null) return 0
  const d = new Date(now)
  switch (period) {
    case 'daily':
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate())
    case 'weekly': {
      const midnight = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate())
      const daysSinceMonday = (d.getUTCDay() + 6) % 7
      return midnight - daysSinceMonday * DAY_MS
    }
    case 'monthly':
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1)
  }
}

/** Start of the period after the one starting at `start`. */
export function nextPeriodStart(period: BudgetPeriod, start: number): number {
  const d = new Date(start)
  switch (period) {
    case 'daily':
      return start + DAY_MS
    case 'weekly':
      return start + 7 * DAY_MS
    case 'monthly':
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1)
  }
}

/**
 * A user's budget period as it stands at `now`: when the stored one has ended, a new one has begun and
 * its spend is 0, whether or not the row has been rolled over yet.
 */
export function currentPeriod(
  period: BudgetPeriod | null,
  storedStart: number,
  storedSpend: number,
  now: number,
): { start: number; rolled: boolean; spend: number } {
  const start = periodStart(period, now)
  const rolled = period !== null && storedStart < start
  return { start: rolled ? start : storedStart, rolled, spend: rolled ? 0 : storedSpend }
}

/** Every kind of period's start at `now`: for a store that picks the user's kind itself, under its lock. */
export const periodStarts = (now: number): Record<BudgetPeriod, number> => ({
  daily: periodStart('daily', now),
  weekly: periodStart('weekly', now),
  monthly: periodStart('monthly', now),
})

/**
 * A period start as the API and the alerts show it: null for a user without a period, whose spend counts from
 * the start. A row whose period_start is set anyway had its period changed to none by an earlier version, which
 * counted from that moment: shown.
 */
export const shownPeriodStart = (period: BudgetPeriod | null, start: number): string | null =>
  period !== null || start > 0 ? new Date(start).toISOString() : null
