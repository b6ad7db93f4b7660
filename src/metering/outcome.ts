import type { TokenEstimate } from '../budget/estimate'
import type { Hold } from '../budget/hold'
import type { Outcome } from '../budget/ledger'
import { costOf, type Tariff, type TokenCounts } from '../pricing/price'
import type { StreamFacts } from './metered-stream'

/** A complete answer: its usage if the provider reported one, otherwise the whole estimate. */
export function answeredOutcome(tariff: Tariff, usage: TokenCounts | null, hold: Hold, latencyMs: number): Outcome {
  if (usage) return { cost: costOf(tariff.price, usage, tariff.features), ...usage, status: 'ok', latencyMs }
  return { cost: hold.amount, promptTokens: 0, completionTokens: 0, cachedTokens: 0, status: 'ok', latencyMs }
}

/** An answer whose client went away while the provider worked is paid all the same; its row says the client left. */
export const paidEvenIfLeft = (outcome: Outcome, client: AbortSignal): Outcome =>
  client.aborted ? { ...outcome, status: 'aborted' } : outcome

/**
 * What a stream costs, by how it ended. Finished: its usage, or without one the estimate. Ended by the
 * provider (closed or failed) before any output and without a usage: nothing, the provider made nothing.
 * Closed by the provider after some output without a usage: the estimate. Cut by the client (at any
 * point, before the first byte included: the provider has the prompt), or failed after some output: what
 * was generated so far (the usage if known, else the input estimate plus the delivered output and the
 * server tool uses begun, or every use allowed when the meter cannot see them), never more than the hold.
 */
export function streamOutcome(facts: StreamFacts, tariff: Tariff, estimate: TokenEstimate, hold: Hold, latencyMs: number): Outcome {
  const { end, usage, deliveredOutputBytes } = facts
  if (end === 'done') return answeredOutcome(tariff, usage, hold, latencyMs)
  const status = end === 'cancelled' ? 'aborted' : 'error'
  if (end !== 'cancelled' && !usage && deliveredOutputBytes === 0)
    return { cost: 0, promptTokens: 0, completionTokens: 0, cachedTokens: 0, status, latencyMs }
  if (end === 'truncated') return { ...answeredOutcome(tariff, usage, hold, latencyMs), status: 'error' }
  const counts = usage ?? generatedSoFar(facts, estimate)
  return { cost: Math.min(costOf(tariff.price, counts, tariff.features), hold.amount), ...counts, status, latencyMs }
}

/** A cut stream without a usage: its input estimate, each byte of output delivered, and the server tool uses seen begun. */
function generatedSoFar(facts: StreamFacts, estimate: TokenEstimate): TokenCounts {
  const counts: TokenCounts = { promptTokens: estimate.inputTokens, completionTokens: facts.deliveredOutputBytes, cachedTokens: 0 }
  if (facts.serverToolUses) counts.serverToolUses = facts.serverToolUses
  return counts
}

/** X-Budget-Remaining: the user's budget in USD after this request's hold; absent for unlimited users. */
export function budgetHeaders(hold: Hold): Record<string, string> {
  return hold.remainingAfter === null ? {} : { 'x-budget-remaining': (hold.remainingAfter / 1_000_000).toFixed(6) }
}
