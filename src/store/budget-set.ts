/**
 * What to write beside `changes` to a user's row or a key's (read under the update's lock, budget `before`): the
 * time, when they set the budget to another amount. The budget alerts' dedupe keys name it (src/alerts/watch.ts):
 * a budget raised and then set back to an amount it had is a new budget, whose thresholds are armed again, where
 * the amount alone named the first crossing's key and the outbox dropped the second. The same amount set again
 * changes nothing, and arms nothing.
 */
export function budgetSetAt(before: number | null, changes: { maxBudget?: number | null }, now: number): { budgetSetAt?: number } {
  return changes.maxBudget !== undefined && changes.maxBudget !== before ? { budgetSetAt: now } : {}
}
