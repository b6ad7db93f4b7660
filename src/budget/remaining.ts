/**
 * What a budget has left to hold, micro-USD: never below 0, though spend and holds may pass the budget (one
 * lowered below them, or overshoot with cap-output off). Every figure shown as `remaining` (the API, the
 * console, the 402 message) is this.
 */
export const budgetLeft = (maxBudget: number, spend: number, reserved: number): number => Math.max(0, maxBudget - spend - reserved)
