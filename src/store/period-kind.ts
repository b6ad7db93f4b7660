import { periodStart, type BudgetPeriod } from '../budget/period'

/**
 * What to write to a user's row (read under the update's lock) when `changes` ask for a budget period kind: nothing
 * when the row has that kind already, judged under the lock, so that of racing changes the later one is never taken
 * for "no change" by a row read before the earlier one committed. Else the new kind's calendar period under way, as
 * a roll would start it, its spend to be counted from its usage (the store counts it): a change of kind never hands
 * out a budget the calendar period has spent already. No period counts all spend, as a user created without one
 * does. The period a roll last ended was of the old kind: the alerts judge none until the new one ends.
 * A clock behind the stored period (stepped back, or a replica's lagging another's that rolled it) is taken as at
 * its start: a new period started earlier would count the stored one's usage rows, and the next roll would hand
 * them to the period it closes, leaving the new one a budget already spent.
 */
export function newPeriodKind(row: { budgetPeriod: BudgetPeriod | null; periodStart: number }, changes: { budgetPeriod?: BudgetPeriod | null }, now: number) {
  if (changes.budgetPeriod === undefined || changes.budgetPeriod === row.budgetPeriod) return undefined
  return {
    budgetPeriod: changes.budgetPeriod,
    periodStart: periodStart(changes.budgetPeriod, Math.max(now, row.periodStart)),
    lastPeriodStart: null,
    lastPeriodSpend: null,
    lastPeriodBudget: null,
    lastPeriodBudgetSetAt: null,
  }
}
