import type { SettleObserver, SweptFirstObserver } from '../budget/ledger'
import type { Logger } from '../log/logger'
import type { GatewayMetrics } from './gateway-metrics'

/**
 * What this process's settlements tell the metrics and the log: each charge (`settled`), and what a usage reported
 * that nobody charged, whether its own settlement capped it (cap-output) or a sweep had charged its hold first
 * (`sweptFirst`), so that a provider that over-reports shows up before its bill does, on every path.
 */
export function settlementObservers(metrics: GatewayMetrics, logger: Logger): { settled: SettleObserver; sweptFirst: SweptFirstObserver } {
  const settled: SettleObserver = (hold, outcome) => {
    const model = metrics.modelLabel(hold.model)
    if (outcome.unbilledOutputTokens) {
      metrics.unbilledOutputTokens.inc({ provider: hold.provider, model }, outcome.unbilledOutputTokens)
      logger.log('warn', 'provider reported more output than the max it was sent: the excess is not charged (cap-output)', {
        request_id: hold.requestId,
        provider: hold.provider,
        model: hold.model,
        unbilled_output_tokens: outcome.unbilledOutputTokens,
      })
    }
    if (outcome.unbilledInputTokens) {
      metrics.unbilledInputTokens.inc({ provider: hold.provider, model }, outcome.unbilledInputTokens)
      logger.log('warn', 'provider reported more input than the request carries: the excess is not charged (cap-output)', {
        request_id: hold.requestId,
        provider: hold.provider,
        model: hold.model,
        unbilled_input_tokens: outcome.unbilledInputTokens,
      })
    }
    if (outcome.unbilledToolUses)
      logger.log('warn', 'provider reported more server tool uses than the request was held for: the excess is not charged (cap-output)', {
        request_id: hold.requestId,
        provider: hold.provider,
        model: hold.model,
        unbilled_tool_uses: outcome.unbilledToolUses,
      })
    if (outcome.unbilledRateCost)
      logger.log('warn', 'provider reported a dearer tier, geography or audio rate than the request was held for: billed at the rates held (cap-output)', {
        request_id: hold.requestId,
        provider: hold.provider,
        model: hold.model,
        unbilled_usd: outcome.unbilledRateCost / 1_000_000,
      })
    metrics.settlements.inc({ status: outcome.status })
    // An expired hold's latency is its age (the sweeper's charge), not a provider call's time.
    if (outcome.status !== 'expired') metrics.upstreamSeconds.observe({ provider: hold.provider }, outcome.latencyMs / 1000)
    metrics.costUsd.inc({ model }, outcome.cost)
    metrics.tokens.inc({ model, kind: 'prompt' }, outcome.promptTokens)
    metrics.tokens.inc({ model, kind: 'completion' }, outcome.completionTokens)
    if (outcome.cachedTokens) metrics.tokens.inc({ model, kind: 'cached' }, outcome.cachedTokens)
  }
  // The sweep counted the charge (cost, tokens, settlement) where it was made: only the excess is counted here.
  const sweptFirst: SweptFirstObserver = (hold, unbilled) => {
    const model = metrics.modelLabel(hold.model)
    if (unbilled.unbilledInputTokens) metrics.unbilledInputTokens.inc({ provider: hold.provider, model }, unbilled.unbilledInputTokens)
    if (unbilled.unbilledOutputTokens) metrics.unbilledOutputTokens.inc({ provider: hold.provider, model }, unbilled.unbilledOutputTokens)
    logger.log('warn', 'provider answered after the sweeper had charged the hold in full: what its usage reported past the hold is not charged', {
      request_id: hold.requestId,
      provider: hold.provider,
      model: hold.model,
      unbilled_input_tokens: unbilled.unbilledInputTokens,
      unbilled_output_tokens: unbilled.unbilledOutputTokens,
      ...(unbilled.unbilledToolUses && { unbilled_tool_uses: unbilled.unbilledToolUses }),
      unbilled_usd: unbilled.unbilledCost / 1_000_000,
    })
  }
  return { settled, sweptFirst }
}
