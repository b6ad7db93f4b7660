import { currentPeriod, type BudgetPeriod } from '../budget/period'

/** What a user's row holds of its budget period. */
interface StoredPeriod {
  budgetPeriod: BudgetPeriod | null
  periodStart: number
  spend: number
  maxBudget: number | null
  budgetSetAt: number | null
}

/**
 * What to write beside `changes` to a user's row (read under the update's lock): nothing, unless they set a
 * budget while the row still holds a period that had ended by `now`. Then the row is rolled first, as a hold or
 * settlement in the period under way would roll it (its spend from 0), keeping the ended period for the alerts as
 * it ended: its start, its spend and the budget it ended under (and when that was set). An ended period is judged
 * against that budget, so one set the next morning never judges yesterday's spend (on a restart, or on another
 * replica).
 */
export function rollForNewBudget(row: StoredPeriod, changes: { maxBudget?: number | null }, now: number) {
  const { start, rolled } = currentPeriod(row.budgetPeriod, row.periodStart, row.spend, now)
  if (!('maxBudget' in changes) || !rolled) return {}
  return { periodStart: start, spend: 0, lastPeriodStart: row.periodStart, lastPeriodSpend: row.spend, lastPeriodBudget: row.maxBudget, lastPeriodBudgetSetAt: row.budgetSetAt }
}
