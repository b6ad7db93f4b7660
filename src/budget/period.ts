export type BudgetPeriod = 'daily' | 'weekly' | 'monthly'

const DAY_MS = 86_400_000

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

/** The starts of all three periods at `now`, in the order the reserve statement expects them. */
export function periodStarts(now: number): { daily: number; weekly: number; monthly: number } {
  return { daily: periodStart('daily', now), weekly: periodStart('weekly', now), monthly: periodStart('monthly', now) }
}
