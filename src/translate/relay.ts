import type { TokenEstimate } from '../budget/estimate'
import type { Hold } from '../budget/hold'
import type { Config } from '../config/schema'
import { paidFailure, type GatewayError } from '../http/errors'
import { peekRequestState } from '../http/request-state'
import { streamedAnswer } from '../http/streamed-answer'
import { clampHeaders, type Admission } from '../metering/admission'
import { answerCarriesOutput } from '../metering/answer-output'
import type { MeterOptions, StreamFacts } from '../metering/metered-stream'
import { answeredOutcome, budgetHeaders, holdCoversOutput, letGoStreamOutcome, paidEvenIfLeft, promptDeniedByUsage, streamOutcome, timedOut, timedOutStreamOutcome } from '../metering/outcome'
import type { RequestedFeatures, TokenCounts } from '../pricing/price'
import { withRowMaxPrice } from '../pricing/router-fields'
import { callUpstream, readAnswer, type UpstreamAnswer } from '../providers/call'
import type { ResolvedModel } from '../providers/registry'
import { credentialsOf, CredentialsEchoed, errorAnswerFailure, isErrorAnswer, quotesCredentials, secretsOf, withErrorRedacted, withHeadersSent } from '../providers/upstream'
import { answerMaxBytes, answerOutputTokens } from './answer-bound'
import { outputCapFieldsRead } from './output-cap'
import { isEventStream } from './sse'

/** What one inference call needs to know about the formats on either side of it. */
export interface Exchange {
  /** The provider endpoint (after its base URL) and the request in the provider's format. */
  path: string
  body: Record<string, unknown>
  /** Request headers the client asked to pass on (the provider's own configured headers win: `headersSent`). */
  headers?: Record<string, string>
  /** What the request asks the provider to bill beyond plain tokens (src/pricing/features.ts); none when unset. */
  features?: RequestedFeatures
  /** Usage from the provider's JSON answer. */
  usageOf(answer: any): TokenCounts | null
  /**
   * The tier the provider's JSON answer names beside its usage, where its format has one (OpenAI's chat completion
   * and response objects: `statedTier`): an answer without a usage is charged its whole hold at it, as a stream whose
   * chunks name it is (`answeredOutcome`). Unset for an Anthropic message, whose usage alone says its tier.
   */
  statedTierOf?(answer: any): string | undefined
  /**
   * The provider's JSON answer as the client gets it (`text` as it came, when the formats match); given once what it
   * records is written, or rejected (the answer withheld, and paid) when that write failed.
   */
  reply(answer: any, text: string): string | Promise<string>
  /**
   * The most bytes of the provider's JSON answer read (`readAnswer`); when unset, what the request can make
   * (`answerMaxBytes`: its held output, logprobs and images, and its input where the answer echoes it).
   */
  answerMaxBytes?: number
  /** The provider's answer writes the request's input back (a Response's `instructions` and `tools`). */
  echoesInput?: boolean
  /** The provider's SSE body, metered on the provider's side and, if the formats differ, converted on the client's (streaming routes only). */
  stream?(body: ReadableStream<Uint8Array>, meter: MeterOptions): ReadableStream<Uint8Array>
  /**
   * Whether the stream keeps part of the request to its end: a translated Responses stream repeats the request's
   * `instructions` and `tools` in its final response object, as the format does, so about the body's size stays
   * live. Its body's claim then stays at its peak instead of dropping once sent (a JSON call's is raised: src/http/body-budget.ts).
   */
  streamKeepsRequestEcho?: boolean
}

/** The exchange for the admitted model; `outputClamp`, when set, is the max output to send upstream (the output clamp). */
export type ExchangeFor = (model: ResolvedModel, outputClamp: number | null) => Exchange

interface RelayContext {
  request: Request
  admission: Admission
  /** The caller keeps its `using` handle: a throw before the hold is settled or handed over settles it in full. */
  hold: Hold
  stream: boolean
  /**
   * The gateway's configuration the call reads: the whole call's limit, the longest a stream may stay silent, and the
   * input held for each server tool use (what a JSON answer may carry of its tools' results: `answerMaxBytes`).
   */
  config: Pick<Config, 'upstream_timeout_ms' | 'upstream_idle_timeout_ms' | 'server_tool_use_input_tokens'>
}

const CUT_BEFORE_OUTPUT: StreamFacts = { end: 'cancelled', usage: null, deliveredOutputBytes: 0 }

/**
 * Calls the provider under the request's hold and settles it: released when the provider fails before
 * any output (a 2xx JSON answer that is only an error included), settled from the usage of a JSON answer
 * (its whole hold when the answer broke off or would not parse: `readAnswer`; one quoting the credentials the
 * provider was sent is refused, and paid by its usage when it has one: `settleRefusedEcho`), or handed to the
 * stream, which settles it however it ends. A stream request answered with anything but an event stream (JSON: a
 * server's error, usually) is read as the JSON answer it is, or paid as an unusable one when it is not JSON.
 * Errors are thrown as GatewayErrors; the route renders them in its own format.
 *
 * A client that goes away does not make a received request free: a JSON call runs on and is settled
 * from its answer, and a stream is cut and charged what it made so far (before any output, the input).
 * Nor does our own timeout: a JSON call that outruns it pays its whole hold, and a stream cut by it (the
 * whole call's, or the idle one) pays as one its client cut (`settleFailedCall` says why).
 */
export async function relay(ctx: RelayContext, x: Exchange): Promise<Response> {
  const { hold, admission } = ctx
  const { provider } = admission.model
  const streaming = ctx.stream && x.stream !== undefined
  const covered = streaming && holdCoversOutput(x.body, outputCapFieldsRead(x.path, provider), admission.estimate)
  // The price is known only now, after admission: a router's host routing is bounded to it here, for every route.
  const body = withRowMaxPrice(x.body, admission.price, provider)
  const answer = await callUpstream(withHeadersSent(provider, x.headers), x.path, body, {
    hold,
    timeoutMs: ctx.config.upstream_timeout_ms,
    clientSignal: ctx.request.signal,
    onCutBeforeAnswer: streaming
      ? (latencyMs) => streamOutcome(CUT_BEFORE_OUTPUT, admission.tariff, admission.estimate, hold, latencyMs, covered)
      : undefined,
  })
  // Only an event stream is relayed as one. Anything else a stream request gets back — JSON, or a body that is no
  // event stream at all (a proxy's page, a plain-text echo of the request, headers and key included) — is read as
  // the JSON path reads it: relayed event by event, its text would reach the client as it came.
  if (streaming && x.stream && answer.res.body && isEventStream(answer.res)) {
    // The provider has the request: what the body cost to read and parse is garbage now, the stream keeps none of it
    // (but an echo of it, where its format repeats the request). A JSON answer is read below, in this function's
    // scope, which keeps the parsed request (`x`, `body`) until then.
    if (!x.streamKeepsRequestEcho) peekRequestState(ctx.request)?.bodyClaim?.sent()
    return relayedStream(ctx, x.stream, answer, answer.res.body, covered)
  }

  const { usage, statedTier, reply } = await readAnswer(answer, (text) => {
    const parsed: unknown = JSON.parse(text)
    if (!parsed || typeof parsed !== 'object') throw new Error('not a JSON object')
    if (isErrorAnswer(parsed)) throw errorAnswerFailure(answer.res.status, text, provider)
    // An error beside output or a usage (OpenRouter's failure mid-generation, a failed Responses object with what
    // it made) is an answer, paid; its error's text is cut of credentials, as any provider error text is.
    const relayed = withErrorRedacted(parsed, secretsOf(provider))
    const relayedText = relayed === parsed ? text : JSON.stringify(relayed)
    const usage = answerUsage(x.usageOf(relayed), relayed, admission.estimate)
    // Anything else that quotes them is an echo of the request, not an answer: refused, and paid (below).
    if (quotesCredentials(relayedText, credentialsOf(provider))) return { usage, statedTier: undefined, reply: null }
    return { usage, statedTier: x.statedTierOf?.(relayed), reply: x.reply(relayed, relayedText) }
  }, x.answerMaxBytes ?? jsonAnswerMaxBytes(ctx, x, body))
  if (reply === null) throw settleRefusedEcho(answer, usage, ctx)
  const outcome = answeredOutcome(admission.tariff, usage, hold, answer.elapsed(), statedTier)
  let text: string
  try {
    text = await reply
  } catch (error) {
    // What the reply waits for failed (its stored ids unwritten): the answer is withheld, and paid all the same.
    hold.settle({ ...outcome, status: ctx.request.signal.aborted ? 'aborted' : 'error' })
    throw error
  }
  hold.settle(paidEvenIfLeft(outcome, ctx.request.signal))
  return new Response(text, { headers: { 'content-type': 'application/json', ...budgetHeaders(hold), ...clampHeaders(admission) } })
}

/**
 * The provider's event stream relayed through `meter`, which settles the hold however it ends. Made apart from
 * `relay`, an async function whose variables (the exchange and the body sent: the parsed request) its closures
 * would keep for as long as the stream runs, while nothing of the request is needed once it has gone upstream.
 */
function relayedStream(ctx: RelayContext, meter: NonNullable<Exchange['stream']>, answer: UpstreamAnswer, upstream: ReadableStream<Uint8Array>, covered: boolean): Response {
  const { hold, admission } = ctx
  const { provider } = admission.model
  const owned = hold.transfer()
  const answered = streamedAnswer(ctx.request)
  const body = meter(upstream, {
    idleTimeoutMs: ctx.config.upstream_idle_timeout_ms,
    signal: answer.signal,
    onEnd: (facts) => {
      const outcome = timedOut(facts, answer.signal) ? timedOutStreamOutcome : answer.signal.reason() === 'unread' ? letGoStreamOutcome : streamOutcome
      owned.settle(outcome(facts, admission.tariff, admission.estimate, owned, answer.elapsed(), covered))
      // Only what the stream queued is left to write: a client that takes none of it for the idle timeout
      // is let go, not kept for as long as it stays connected (or its kernel retries a vanished peer).
      answered()
    },
    // The same secrets the JSON path cuts from an error answer (`errorAnswerFailure`), and the credentials it refuses an answer for quoting.
    secrets: () => secretsOf(provider),
    credentials: credentialsOf(provider),
  })
  return new Response(body, {
    headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', ...budgetHeaders(owned), ...clampHeaders(admission) },
  })
}

/** What the request can make (`answerMaxBytes`), with the output it can carry (`answerOutputTokens`). */
function jsonAnswerMaxBytes({ admission, config }: RelayContext, x: Exchange, body: Record<string, unknown>): number {
  const outputTokens = answerOutputTokens(body, outputCapFieldsRead(x.path, admission.model.provider), admission.estimate, admission.price)
  return answerMaxBytes(body, { ...admission.estimate, outputTokens }, admission.tariff.features, x.echoesInput === true, config.server_tool_use_input_tokens)
}

/**
 * An answer refused for quoting the credentials the provider was sent was still made by whatever answered: paid
 * by its usage when it states one, as a stream stopped at such an event is (`streamOutcome`), else as an answer
 * that cannot be used, its whole hold (`readAnswer`). Its row says `error`, or `aborted` when the client had left.
 * Returns the refusal, a paid error (`paidFailure`).
 */
function settleRefusedEcho(answer: UpstreamAnswer, usage: TokenCounts | null, { admission, hold, request }: RelayContext): GatewayError {
  if (!usage) return answer.unusableAnswer(new CredentialsEchoed())
  hold.settle({ ...answeredOutcome(admission.tariff, usage, hold, answer.elapsed()), status: request.signal.aborted ? 'aborted' : 'error' })
  return paidFailure(new CredentialsEchoed())
}

/**
 * A usage of no output beside output the answer carries (a proxy's zeros, a server that does not count) says
 * nothing about what the answer cost: it is no usage, and the answer pays its hold (SPEC §6: a request the
 * provider received is never free), as a stream with such a usage pays its estimate (`streamOutcome`).
 */
const usageBesideOutput = (usage: TokenCounts | null, answer: object): TokenCounts | null =>
  usage !== null && !(usage.completionTokens > 0) && answerCarriesOutput(answer) ? null : usage

/**
 * The usage a JSON answer is billed by: none when it denies the output the answer carries (`usageBesideOutput`) or
 * the prompt the request sent (`promptDeniedByUsage`); the answer then pays its hold.
 */
export const answerUsage = (usage: TokenCounts | null, answer: object, estimate: Pick<TokenEstimate, 'inputTokens'>): TokenCounts | null =>
  promptDeniedByUsage(usage, estimate) ? null : usageBesideOutput(usage, answer)
