import type { Hold } from '../budget/hold'
import type { TokenEstimate } from '../budget/estimate'
import { MAX_REQUEST_MICROS } from '../budget/money'
import { badRequest, forbidden, notFound, paymentRequired, wireFormatOf } from '../http/errors'
import type { Server } from 'bun'
import type { Config } from '../config/schema'
import { cutText } from '../http/cut-text'
import { switchIdleTimeoutOff } from '../http/idle-timeout'
import { authenticated, requestState } from '../http/request-state'
import { mayCall, type Caller } from '../keys/caller'
import { holdsKey } from '../keys/secret'
import { requireFeaturesPriced, unservedModel, withOnlineModelResults } from '../pricing/features'
import { featuresHeld, heldOutputTokens, heldPromptTokens, NO_FEATURES, outputTokensWithin, worstCaseCost, type Price, type RequestedFeatures, type Tariff } from '../pricing/price'
import type { ResolvedModel } from '../providers/registry'
import { PRICED_NAME_MAX_LENGTH } from '../providers/model-name'
import type { Services } from '../services'

interface AdmissionRequest {
  requestId: string
  caller: Caller
  /** The model as the client named it. */
  model: unknown
  /**
   * What the route resolved that name to (to translate for it), with `resolveModel`: admitted as it is, so
   * the route never sends one model and bills another. Resolved here when absent.
   */
  target?: ResolvedModel | null
  /** The billing identity the body names (`user`, or Anthropic's `metadata.user_id`), if any. */
  namedUser: unknown
  endpoint: string
  stream: boolean
  /**
   * Audio and moderation have no token pricing: served unpriced at $0 even when pricing is required, and
   * priced, at their `per_request` price (a model priced only by tokens is refused while pricing is required).
   */
  pricingExempt?: boolean
  /** The route can send upstream a lower max output than the client asked for (the output clamp). */
  clampable?: boolean
  /**
   * The body counts in flight at its peak until its answer is over, whatever the answer (audio: what the call keeps of
   * its body was measured at that peak), rather than at a JSON answer's count (src/http/body-budget.ts).
   */
  bodyAtPeak?: boolean
  estimate: (price: Price | null) => TokenEstimate
  /**
   * What the request asks the provider to bill beyond plain tokens (server tools, a service tier, audio, cache writes);
   * given the model's price, where that decides it.
   */
  features?: RequestedFeatures | ((price: Price | null) => RequestedFeatures)
  /** Told whom the master key bills as soon as that is known, so that a refusal after it is still recorded against that user. */
  onBilledUser?: (userId: string) => void
}

export interface Admission {
  model: ResolvedModel
  price: Price | null
  /** The price and the request's billed features: what settlement charges by. */
  tariff: Tariff
  userId: string
  /** Its output tokens are what the hold covers: the client's bound, or the clamped one. */
  estimate: TokenEstimate
  hold: Hold
  /** The output clamp lowered the max output to this many tokens: send that upstream. */
  outputClamp: number | null
}

/**
 * The model a name stands for on a route: a bare id goes to the default provider of the route's wire format. A name
 * holding a key is refused first (`refuseKeyInModelName`), before anything records it, echoes it or sends it upstream.
 */
export function resolveModel(services: Pick<Services, 'config' | 'providers'>, name: string, endpoint: string): ResolvedModel | null {
  refuseKeyInModelName(services.config, name)
  return services.providers.resolve(name, wireFormatOf(endpoint))
}

/**
 * A model name holding a key, maybe another user's or the master key (an SDK's model and key settings swapped), is
 * a 400 that does not echo it: served, the key would go upstream and into the usage rows.
 */
export function refuseKeyInModelName(config: Config, name: string): void {
  if (holdsKey(name, [config.master_key, config.metrics_token]))
    throw badRequest('The model name holds an API key (are the model and key settings swapped?): it is neither served nor echoed.', 'invalid_request')
}

/**
 * A model name the client sent, as a refusal records, alerts on or echoes it: at most as long as a price's name may
 * be, so that a name recorded as unpriced is the name a price can be set for (cut at 200, a priced record hid a model
 * still refused). Every name here has passed `refuseKeyInModelName`, so it holds no key; cutting `tg-` and a few
 * characters from it as a log line is cut would only record an unpriced model under a name nobody can price. Cut
 * whole (cutText): half an emoji at the cut sank every unpriced-model alert of its check on Postgres.
 */
export const modelNameShown = (name: string): string => cutText(name, PRICED_NAME_MAX_LENGTH)

export const unknownModel = (name: string) =>
  notFound(`Unknown model ${JSON.stringify(modelNameShown(name))}: use provider:model, a configured alias, or configure a default provider for bare ids.`, 'model_not_found')

/**
 * Names the model as the client asked for it, never what it resolved to: an alias the key may not call is not
 * listed for it (`GET /v1/models/{id}` is 404), and its target (a team's private fine-tune) is not for it to learn.
 */
export const modelNotAllowed = (asked: string) => forbidden('model_not_allowed', `This key may not call ${modelNameShown(asked)}.`)

/**
 * Everything that happens before the provider is called, in the SPEC's order: who pays, whether the
 * model may be called, its price, the worst case, and the hold. A refusal at any step leaves nothing
 * behind: the hold is the last step, and it is atomic (its own savepoint in the turn's commit).
 */
async function admit(services: Services, r: AdmissionRequest): Promise<Admission> {
  const { config, providers, prices, ledger } = services
  if (typeof r.model !== 'string' || r.model.length === 0) throw badRequest('Invalid body: model: is required', 'invalid_request')
  const model = r.target !== undefined ? r.target : resolveModel(services, r.model, r.endpoint)
  if (!model) throw unknownModel(r.model)

  const userId = billedUser(r.caller, r.namedUser, config.reject_user_mismatch)
  // A key's user exists (the key belongs to it, and authentication noted it); a user the master key
  // names may not, and that is a 404 before the price is looked at, whatever the model.
  if (r.caller.kind === 'master') {
    if (!(await ledger.userExists(userId))) throw notFound(`No user with id ${JSON.stringify(userId)}.`, 'user_not_found')
    r.onBilledUser?.(userId)
  }

  if (!mayCall(r.caller, r.model, model.canonical, providers.aliases)) throw modelNotAllowed(r.model)

  const unserved = unservedModel(model.upstreamModel, config.cap_output_tokens)
  if (unserved) throw badRequest(unserved, 'feature_unsupported')

  const price = await prices.priceOf(model.canonical)
  if (!price && config.require_pricing && !r.pricingExempt) {
    // Recorded, its name would be one cut short, which a price could be set for and the model still refused.
    if (model.canonical.length > PRICED_NAME_MAX_LENGTH)
      throw paymentRequired('pricing_required', `No price can be set for ${modelNameShown(model.canonical)}…: a priced model's name is at most ${PRICED_NAME_MAX_LENGTH} characters as provider:model.`)
    const name = modelNameShown(model.canonical)
    services.alerts.noteUnpriced(name)
    services.refusals.unpricedModelAsked(name)
    throw paymentRequired('pricing_required', `No price is set for ${name}; the gateway serves only models it can price.`)
  }

  // A per-request route cannot bill tokens: a model priced only by them would be served at $0.
  if (price && r.pricingExempt && config.require_pricing && pricedOnlyByTokens(price))
    throw paymentRequired(
      'pricing_required',
      `${modelNameShown(model.canonical)} is priced by tokens, which ${r.endpoint} cannot bill: set its per_request price, or price it 0/0 to serve it free.`,
    )

  // A model named `…:online` is a web search whatever the route, translated or not: read here, once for all.
  const features = withOnlineModelResults(typeof r.features === 'function' ? r.features(price) : (r.features ?? NO_FEATURES), model.upstreamModel)
  const estimate = r.estimate(price)
  // Judged by the input the hold counts (what the request's tools bring back included), or a window priced by
  // that count would be served unpriced.
  if (price && config.require_pricing) requireFeaturesPriced(price, features, heldPromptTokens(estimate.inputTokens, features, config.server_tool_use_input_tokens, estimate.outputTokens))
  // A hard bound covers whatever tier or geography the provider applies by default.
  const held = featuresHeld(price, features, config.cap_output_tokens)
  const amount = worstCaseCost(price, estimate.inputTokens, estimate.outputTokens, held, config.server_tool_use_input_tokens)
  // costOf clamps at the bound, so reaching it means the true worst case is at or past it.
  if (amount >= MAX_REQUEST_MICROS)
    throw badRequest('This request could cost $1,000,000 or more at its maximum output: lower max_tokens.', 'estimate_too_large')
  const floor = config.clamp_output_floor_tokens
  const clamp = price && r.clampable && clampsOutput(r.caller, config.clamp_output) && estimate.outputTokens > floor
  const costAt = (outputTokens: number) => worstCaseCost(price, estimate.inputTokens, outputTokens, held, config.server_tool_use_input_tokens)
  // What the hold of this output prices, recorded when it is charged whole (by its owner, or by the sweeper).
  const heldFor = (outputTokens: number) => ({
    promptTokens: heldPromptTokens(estimate.inputTokens, held, config.server_tool_use_input_tokens, outputTokens),
    completionTokens: heldOutputTokens(outputTokens, held),
  })
  // With the clamp: the most output whose worst case `left` micro-USD covers.
  const outputWithin = clamp ? (left: number) => outputTokensWithin(price, estimate.inputTokens, estimate.outputTokens, left, held, config.server_tool_use_input_tokens) : null
  const fitted = (outputTokens: number) => ({ amount: costAt(outputTokens), heldTokens: heldFor(outputTokens) })
  // Before the hold: a request over the limit is refused holding nothing, and never waits after its hold.
  const giveSlotBack = services.upstream.take()
  const hold = await ledger.reserve({
    requestId: r.requestId,
    userId,
    keyId: r.caller.kind === 'key' ? r.caller.keyId : null,
    keyHash: r.caller.kind === 'key' ? r.caller.keyHash : null,
    amount,
    minAmount: outputWithin ? costAt(floor) : undefined,
    fitTo: outputWithin ? (left) => fitted(outputWithin(left)) : undefined,
    heldTokens: heldFor(estimate.outputTokens),
    model: model.canonical,
    provider: model.providerName,
    endpoint: r.endpoint,
    priceId: price?.id ?? null,
    stream: r.stream,
  }).catch((error: unknown) => {
    giveSlotBack()
    throw error
  })
  hold.whenEnded(giveSlotBack)
  // A hard bound is also a bound on what settlement charges (SPEC §6): the provider was sent no more output than
  // held, and a usage is charged no more input than held when the estimate bounds it, its tools' results past the
  // allowance held for each use left unbilled as output past the max is.
  const tariffFor = (outputTokens: number): Tariff =>
    config.cap_output_tokens
      ? { price, features, outputBound: heldOutputTokens(outputTokens, features), ...(estimate.boundsInput === true && { inputBound: heldFor(outputTokens).promptTokens }) }
      : { price, features }
  if (!outputWithin || hold.amount >= amount) return { model, price, tariff: tariffFor(estimate.outputTokens), userId, estimate, hold, outputClamp: null }
  // The hold is the worst case of this output (fitTo), so it finds the same again.
  const outputTokens = outputWithin(hold.amount)
  return { model, price, tariff: tariffFor(outputTokens), userId, estimate: { ...estimate, outputTokens }, hold, outputClamp: outputTokens }
}

/** A price with some token rate and no per-request price. */
const pricedOnlyByTokens = (p: Price): boolean =>
  p.perRequest == null &&
  [p.inputPerMillion, p.outputPerMillion, p.cachedInputPerMillion, p.cacheWritePerMillion, p.cacheWrite1hPerMillion, p.audioInputPerMillion, p.audioOutputPerMillion, p.imageOutputPerMillion].some((rate) => (rate ?? 0) > 0)

const clampsOutput = (caller: Caller, global: boolean): boolean => (caller.kind === 'key' ? (caller.clampOutput ?? global) : global)

/** X-Output-Clamped: the max output sent upstream, when the clamp lowered it. */
export const clampHeaders = (admission: Admission): Record<string, string> =>
  admission.outputClamp === null ? {} : { 'x-output-clamped': String(admission.outputClamp) }

/**
 * How every inference route begins: its call may take minutes, so the server's idle timeout is switched
 * off for it (the upstream timeouts apply; it is back once the response is: src/http/idle-timeout.ts); then
 * admission for the authenticated caller, the billed user noted for the request log as soon as it is known
 * (refusals included).
 */
export async function admitRequest(
  services: Services,
  request: Request,
  server: Server<unknown> | null,
  r: Omit<AdmissionRequest, 'requestId' | 'caller'>,
): Promise<Admission> {
  switchIdleTimeoutOff(request, server)
  const state = requestState(request)
  // A JSON answer is read where the parsed request is kept: its body counts at that until the answer is over, or is
  // refused here, holding nothing.
  if (!r.stream && !r.bodyAtPeak) state.bodyClaim?.awaited()
  return admit(services, {
    ...r,
    requestId: state.id,
    caller: authenticated(state),
    onBilledUser: (userId) => {
      state.userId = userId
    },
  })
}

/**
 * A key always bills its own user. A body naming someone else is refused, or (with the key's policy, else
 * the global mismatch setting, at `tag`) billed to the key's user anyway, the client's value going
 * upstream only as an end-user tag: agents such as Claude Code send a session tag there. The master key
 * bills whichever existing user it names, and must name one.
 */
function billedUser(caller: Caller, named: unknown, rejectMismatch: boolean): string {
  const name = typeof named === 'string' && named.length > 0 ? named : undefined
  if (caller.kind === 'master') {
    if (!name)
      throw badRequest('The master key must name the user to bill: the body\'s "user" (or "metadata.user_id" on /v1/messages).', 'user_required')
    return name
  }
  if (name !== undefined && name !== caller.userId && (caller.userField ?? (rejectMismatch ? 'reject' : 'tag')) === 'reject')
    throw forbidden('user_mismatch', 'This key bills its own user; the body names another.')
  return caller.userId
}

/**
 * The free calls (counting tokens) bill nobody, yet a key's body naming another user is what it is on a billed
 * route: refused, or at `tag` passed on as it came, as the end-user tag. The master key need name no one there.
 */
export function refuseUserMismatch(caller: Caller, named: unknown, rejectMismatch: boolean): void {
  if (caller.kind === 'key') billedUser(caller, named, rejectMismatch)
}
