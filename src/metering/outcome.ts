import type { TokenEstimate } from '../budget/estimate'
import type { Hold } from '../budget/hold'
import type { Outcome } from '../budget/ledger'
import { toolCounts } from '../pricing/features'
import { costOf, estimateAsHeld, everyUseAllowed, outputAsHeld, featuresHeld, heldOutputTokens, heldTokensAtTier, toolPrice, type Tariff, type TokenCounts } from '../pricing/price'
import { imageModelTokensWithin } from '../pricing/image-model-input'
import type { UpstreamSignal } from '../providers/upstream'
import { firstMaxOutputIn, largestMaxOutputIn } from '../translate/output-cap'
import type { StatedInput, StreamFacts } from './metered-stream'

/**
 * A complete answer: its usage if the provider reported one, otherwise the whole hold, as the tokens it priced, at
 * the tier the provider stated without a usage (`wholeHoldCharge`).
 */
export function answeredOutcome(tariff: Tariff, usage: TokenCounts | null, hold: Hold, latencyMs: number, statedTier?: string): Outcome {
  if (usage) return { ...usageCharge(tariff, usage), ...usage, status: 'ok', latencyMs }
  return wholeHoldCharge(tariff, hold, latencyMs, statedTier)
}

/**
 * The whole hold as a charge, its tokens at the tier the provider stated (a chat stream's chunks name it, and so does
 * an OpenAI JSON answer: src/translate/relay.ts) where that is not the one held: a priority project's answer without
 * a usage is billed at priority, past a hold taken at the plain rates (README "Tiers": with cap-output off a dearer
 * default overshoots the hold), never past the hold with cap-output on.
 */
function wholeHoldCharge({ price, features, outputBound }: Tariff, hold: Hold, latencyMs: number, statedTier: string | undefined): Outcome {
  const whole = hold.wholeCharge('ok', latencyMs)
  if (!price || statedTier === undefined) return whole
  const atTier = heldTokensAtTier(price, whole, featuresHeld(price, features, outputBound !== undefined), statedTier)
  if (atTier === null) return whole
  return { ...whole, cost: outputBound !== undefined ? Math.min(atTier, whole.cost) : atTier }
}

/**
 * What a usage costs. With cap-output on, what a usage reports past what the hold covers is not charged, or
 * `spend <= max_budget` would not hold: output past the max the provider was sent (a server that ignored it,
 * a proxy's miscount), input past the input held when the estimate bounds it (a request of text alone: a token is
 * at least a byte; its tools' results at the per-use allowance held), uses of each server tool past those held for
 * it (its `max_uses`; none for a tool the request did not offer: a search count above the one search held for
 * `web_search_options`, code executions shown beside a search), and rates dearer than those held (a tier or
 * geography the request did not ask for nor leave to a default, audio tokens in an answer to a text-only request:
 * `costOf`'s `heldAt`), and what the image tool's model read past what was held for it. The row keeps the
 * counts reported, and `unbilledOutputTokens`, `unbilledInputTokens`, `unbilledToolUses` and `unbilledRateCost`
 * say what went unbilled. Input of a request with media or files is charged whole: the exceptions the README lists
 * to cap-output's bound are all input the hold cannot see.
 */
function usageCharge(tariff: Tariff, usage: TokenCounts): Pick<Outcome, 'cost' | 'unbilledOutputTokens' | 'unbilledInputTokens' | 'unbilledToolUses' | 'unbilledRateCost'> {
  const bound = tariff.outputBound
  if (bound === undefined) return { cost: costOf(tariff.price, usage, tariff.features) }
  const billed = { ...usage }
  const charged: Pick<Outcome, 'cost' | 'unbilledOutputTokens' | 'unbilledInputTokens' | 'unbilledToolUses' | 'unbilledRateCost'> = { cost: 0 }
  if (tariff.inputBound !== undefined && usage.promptTokens > tariff.inputBound) {
    Object.assign(billed, promptWithin(usage, tariff.inputBound))
    charged.unbilledInputTokens = usage.promptTokens - tariff.inputBound
  }
  if (usage.completionTokens > bound) {
    billed.completionTokens = bound
    billed.audioOutputTokens = Math.min(usage.audioOutputTokens ?? 0, bound)
    billed.imageOutputTokens = Math.min(usage.imageOutputTokens ?? 0, bound)
    charged.unbilledOutputTokens = usage.completionTokens - bound
  }
  if (usage.serverToolUses) {
    const { uses, unbilled } = usesWithinHold(usage.serverToolUses, tariff)
    billed.serverToolUses = uses
    if (unbilled) charged.unbilledToolUses = unbilled
  }
  const imageModel = tariff.features.imageModelInput
  if (usage.imageModelTokens && imageModel) billed.imageModelTokens = imageModelTokensWithin(usage.imageModelTokens, imageModel, tariff.inputBound, bound)
  // A tier, geography or audio rate dearer than the hold priced (fast mode reported unasked) is billed as held.
  charged.cost = costOf(tariff.price, billed, tariff.features, featuresHeld(tariff.price, tariff.features, true))
  const atReportedRates = costOf(tariff.price, billed, tariff.features)
  if (atReportedRates > charged.cost) charged.unbilledRateCost = atReportedRates - charged.cost
  return charged
}

/**
 * A reported prompt cut to `held` tokens, each kind of input in it (cache reads, cache writes and their split by
 * lifetime, audio) in the share the usage reports, rounded up (`costOf` keeps the kinds within the prompt).
 */
function promptWithin(usage: TokenCounts, held: number): Partial<TokenCounts> {
  const share = (n: number | undefined) => (n === undefined ? undefined : Math.ceil((n / usage.promptTokens) * held))
  return {
    promptTokens: held,
    cachedTokens: share(usage.cachedTokens),
    cacheWriteTokens: share(usage.cacheWriteTokens),
    cacheWrite5mTokens: share(usage.cacheWrite5mTokens),
    cacheWrite1hTokens: share(usage.cacheWrite1hTokens),
    audioInputTokens: share(usage.audioInputTokens),
  }
}

/** Each tool's reported uses, at most those held for it; and the priced uses past that, if any. */
function usesWithinHold(reported: Record<string, number>, { price, features }: Tariff): { uses: Record<string, number>; unbilled?: Record<string, number> } {
  const uses = toolCounts()
  let unbilled: Record<string, number> | undefined
  for (const [tool, n] of Object.entries(reported)) {
    const held = Object.hasOwn(features.serverTools, tool) ? features.serverTools[tool]! : 0
    uses[tool] = Math.min(n, held)
    // A tool the price book does not price is billed nothing either way: no news.
    if (n > held && price && toolPrice(price, tool)) (unbilled ??= toolCounts())[tool] = n - held
  }
  return { uses, unbilled }
}

/** An answer whose client went away while the provider worked is paid all the same; its row says the client left. */
export const paidEvenIfLeft = (outcome: Outcome, client: AbortSignal): Outcome =>
  client.aborted ? { ...outcome, status: 'aborted' } : outcome

/**
 * What a stream costs, by how it ended; a usage of no output beside output delivered, or of no prompt for a
 * request that sent one, counts as none (`streamUsage`). Finished: its usage, or without one the estimate. Ended
 * by the provider (closed or failed) before any output, server tool use included, and without a usage: nothing,
 * the provider made nothing. Closed by the provider after some output without a usage: the estimate. Cut by the
 * client, or by the gateway at an event it cannot read (at any point, before the first byte included:
 * the provider has the prompt; the gateway's cut is no provider failure, as its timeout is none), or failed
 * after some output: what was generated so far — the usage if the provider reported it, as for a finished
 * answer; else the input the provider stated (`cutWithStatedInput`) or the input estimate, plus the delivered
 * output and the server tool uses begun (every use allowed when the meter cannot see them). That count bounds
 * the tokens from above (a byte per token), so it is kept within the hold when the hold covers all the provider
 * could make (`holdCoversOutput`); when the provider was given no max output, it could make more than the hold,
 * and the count is charged whole.
 */
export function streamOutcome(
  facts: StreamFacts,
  tariff: Tariff,
  estimate: TokenEstimate,
  hold: Hold,
  latencyMs: number,
  holdCoversOutput: boolean,
): Outcome {
  const { end, deliveredOutputBytes } = facts
  const usage = streamUsage(facts, estimate)
  if (end === 'done') return answeredOutcome(tariff, usage, hold, latencyMs, facts.statedTier)
  const status = end === 'cancelled' ? 'aborted' : 'error'
  if ((end === 'truncated' || end === 'failed') && !usage && deliveredOutputBytes === 0 && !anyUse(facts.serverToolUses))
    return { cost: 0, promptTokens: 0, completionTokens: 0, cachedTokens: 0, status, latencyMs }
  if (end === 'truncated') return { ...answeredOutcome(tariff, usage, hold, latencyMs, facts.statedTier), status: 'error' }
  if (usage) return { ...answeredOutcome(tariff, usage, hold, latencyMs), status }
  const cut = { ...tariff, features: everyUseAllowed(tariff.features) }
  const counts = generatedSoFar(facts, estimate)
  const cost = costOfGeneratedSoFar(cut, counts)
  // The bound is the hold at the tier the stream stated: its output count is in bytes, its tokens at that tier's rates.
  const bound = facts.statedTier === undefined ? hold.amount : wholeHoldCharge(tariff, hold, latencyMs, facts.statedTier).cost
  const estimated = { cost: holdCoversOutput ? Math.min(cost, bound) : cost, ...counts }
  const charged = facts.statedInput ? cutWithStatedInput(facts, facts.statedInput, estimated, cut, estimate, holdCoversOutput) : estimated
  return { ...charged, status, latencyMs }
}

type CutCharge = Omit<Outcome, 'status' | 'latencyMs'>

/**
 * A cut stream whose provider stated its input before its usage (Anthropic's `message_start`: plain input, cache
 * reads and writes) pays that input at its rates, as a usage is charged (`usageCharge`), where the estimate would price
 * every token of the byte-bound estimate at the dearest rate: a cached prompt cut short paid up to 50 times what the
 * provider bills. Its output is what was delivered, at most the output the provider was held for when the hold
 * covers it. But once the provider ran a tool on its side (`mayGrow`), a later pass read input the statement does
 * not count, so the stream pays the dearer of the two: never less than the provider can bill.
 */
function cutWithStatedInput(
  facts: StreamFacts,
  stated: StatedInput,
  estimated: CutCharge,
  tariff: Tariff,
  estimate: TokenEstimate,
  holdCoversOutput: boolean,
): CutCharge {
  const delivered = facts.deliveredOutputBytes
  const counts: TokenCounts = {
    ...stated.counts,
    completionTokens: holdCoversOutput ? Math.min(delivered, heldOutputTokens(estimate.outputTokens, tariff.features)) : delivered,
  }
  if (facts.serverToolUses) counts.serverToolUses = facts.serverToolUses
  const charged = { ...usageCharge(tariff, counts), ...counts }
  return stated.mayGrow && estimated.cost > charged.cost ? estimated : charged
}

/**
 * The stream failed because the gateway cut it: at its own timeout (the whole call's, or silent past the
 * idle one), or at its stop once the shutdown grace was over (which pays as a timeout does).
 */
export const timedOut = (facts: StreamFacts, signal: UpstreamSignal): boolean =>
  facts.end === 'failed' && (signal.reason() === 'timeout' || signal.reason() === 'idle' || signal.reason() === 'shutdown')

/**
 * A stream the gateway cut at its own timeout (or stop) pays as one its client cut (`streamOutcome`), even
 * before any output: the provider had the prompt, unlike one that failed by itself. Its row says `error`.
 */
export const timedOutStreamOutcome: typeof streamOutcome = (facts, ...rest) => ({
  ...streamOutcome({ ...facts, end: 'cancelled' }, ...rest),
  status: 'error',
})

/**
 * A stream whose client took nothing of it for the idle timeout, and was let go (`unread`) before its provider
 * finished, pays as one its client cut (`streamOutcome`); its row says `aborted`. (One whose provider had finished
 * is not let go: it ends as a finished answer, its rest queued for the client.)
 */
export const letGoStreamOutcome: typeof streamOutcome = (...args) => ({ ...streamOutcome(...args), status: 'aborted' })

/**
 * A usage of no output beside output the client was given (a proxy's zeros, a server that does not count) says
 * nothing about what the stream cost: it is no usage, and the stream pays as one without (SPEC §6: a request
 * the provider received is never free).
 */
const outputDeniedByUsage = ({ usage, deliveredOutputBytes }: StreamFacts): boolean =>
  usage !== null && !(usage.completionTokens > 0) && deliveredOutputBytes > 0

/**
 * A usage of no prompt for a request that sent one (a proxy's zeros; Ollama's, when its cache served the whole
 * prompt it read) says nothing about what the prompt cost: it is no usage either. The whole prompt counts, cache
 * reads and writes included: an answer Anthropic served wholly from its cache states `input_tokens: 0` beside them.
 */
export const promptDeniedByUsage = (usage: TokenCounts | null, estimate: Pick<TokenEstimate, 'inputTokens'>): boolean =>
  usage !== null && !(usage.promptTokens > 0) && estimate.inputTokens > 0

/** The usage a stream is billed by: none when it denies the output delivered or the prompt sent. */
export const streamUsage = (facts: StreamFacts, estimate: Pick<TokenEstimate, 'inputTokens'>): TokenCounts | null =>
  outputDeniedByUsage(facts) || promptDeniedByUsage(facts.usage, estimate) ? null : facts.usage

const anyUse = (uses: Record<string, number> | undefined) => uses !== undefined && Object.values(uses).some((n) => n > 0)

/**
 * Whether the provider was told a max output the hold covers (the client's own, or the one cap-output or
 * the clamp or a translation sent): then nothing it can generate costs more than the hold. Only a field
 * the provider surely reads (`readFields`) tells it; the largest of every max field sent is the bound, in
 * case the provider reads another one too.
 */
export function holdCoversOutput(upstreamBody: Record<string, unknown>, readFields: string[], estimate: TokenEstimate): boolean {
  if (firstMaxOutputIn(upstreamBody, readFields) === null) return false
  const max = largestMaxOutputIn(upstreamBody, ['max_tokens', 'max_completion_tokens', 'max_output_tokens'])!
  const choices = typeof upstreamBody.n === 'number' && Number.isInteger(upstreamBody.n) && upstreamBody.n > 1 ? upstreamBody.n : 1
  return max * choices <= estimate.outputTokens
}

/**
 * A cut stream without a usage: its input estimate, each byte of output delivered, the server tool uses seen begun,
 * and the tier its events stated.
 */
function generatedSoFar(facts: StreamFacts, estimate: TokenEstimate): TokenCounts {
  const counts: TokenCounts = { promptTokens: estimate.inputTokens, completionTokens: facts.deliveredOutputBytes, cachedTokens: 0 }
  if (facts.serverToolUses) counts.serverToolUses = facts.serverToolUses
  if (facts.statedTier !== undefined) counts.tier = facts.statedTier
  return counts
}

/**
 * What a cut stream's counts cost: the input estimate priced as the hold priced it (`estimateAsHeld`: at the
 * dearest rate the request can incur, audio or cache writes among them, at the geography held, and at the tier the
 * stream stated, else the one held), since the provider read the whole prompt and no usage says at which rates; the
 * output delivered at the image rate where images were asked for (`outputAsHeld`);
 * with cap-output on, at no rate dearer than held. The row keeps the plain counts.
 */
function costOfGeneratedSoFar({ price, features, outputBound }: Tariff, counts: TokenCounts): number {
  if (!price) return 0
  const hardBound = outputBound !== undefined
  const held = featuresHeld(price, features, hardBound)
  const asHeld = { ...estimateAsHeld(price, counts.promptTokens, held), ...outputAsHeld(price, counts.completionTokens, held) }
  return costOf(price, { ...counts, ...asHeld }, held, hardBound ? held : undefined)
}

/** X-Budget-Remaining: the user's budget in USD after this request's hold; absent for unlimited users. */
export function budgetHeaders(hold: Hold): Record<string, string> {
  return hold.remainingAfter === null ? {} : { 'x-budget-remaining': (hold.remainingAfter / 1_000_000).toFixed(6) }
}
