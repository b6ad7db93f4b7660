import { Elysia } from 'elysia'
import { z } from 'zod'
import { estimateChat, estimateMessages, estimateResponses, largerEstimate, outputBound, responsesGeneratedImages, responsesItemInputTokens, responsesMediaParts, type EstimateOptions } from '../budget/estimate'
import { estimateOptionsFor } from '../budget/estimate-options'
import { badRequest } from '../http/errors'
import { switchIdleTimeoutOff } from '../http/idle-timeout'
import { authenticated, requestState } from '../http/request-state'
import { refuseDeadKeyOrBlockedUser } from '../keys/live-key'
import { mayCall, type Caller } from '../keys/caller'
import { admitRequest, modelNotAllowed, refuseUserMismatch, resolveModel, unknownModel, type Admission } from '../metering/admission'
import type { StreamFacts } from '../metering/metered-stream'
import { streamUsage } from '../metering/outcome'
import { meterResponsesStream, type ResponseFacts } from '../metering/responses-stream'
import { contextWindowOf, openAIResponsesFeatures, refuseImageToolOverStoredMedia, refuseNonResponsesOutputFields, refuseUnpricedImageModelInput, responsesAudioInput, responsesOfferedTools, serverToolBounds } from '../pricing/features'
import { heldInputTokens, type Price } from '../pricing/price'
import { callUnmetered, errorCheckedText, readUnmetered } from '../providers/call'
import type { ResolvedModel } from '../providers/registry'
import { notStored, ownerFor, refuseAnotherUsersContainer, ResponseOwners, type StoredKind, type StoredResponse } from '../records/response-owners'
import { answerUsage, relay, type Exchange } from '../translate/relay'
import { readDeletion } from '../translate/responses/deletion-answer'
import { DROPPED_TOOLS_HEADER, droppedToolsHeader } from '../translate/responses/hosted-tools'
import { containersNamed, containersRanIn } from '../translate/responses/containers'
import { isItemById, isItemReference, mayReadStoredReasoning, refuseStoredPrompt, resultsLeftOut } from '../translate/responses/input-items'
import { withoutCarriedThinking } from '../translate/responses/reasoning-carrier'
import { responsesToCountTokens } from '../translate/responses/request-to-messages'
import { responsesViaAnthropic } from '../translate/responses/via-anthropic'
import { responsesViaChat } from '../translate/responses/via-chat'
import { responseCounts, responsesUsage, statedTier } from '../translate/usage'
import type { Services } from '../services'
import { refuseCaseVariantKeys } from '../http/case-variant-keys'
import { withFieldsLast } from '../translate/fields-last'
import { FREE_CALL_REFUSALS } from './free-call-refusals'
import { stoppingAtFirstIssue } from './schemas/first-issue'
import { inputItemsQuery, storedResponseQuery } from './schemas/stored-response-query'
import { billedCallResponses, CHAT_OUTPUT_FIELDS_REFUSED, EXTRA_BODY_REFUSED, IMAGE_GENERATION_SETTINGS_REFUSED, PRESET_REFUSED, SERVER_FIELDS_REFUSED, STORED_PROMPT_REFUSED } from './billed-call-refusals'

const ENDPOINT = '/v1/responses'

const storedId = z.string().min(1).max(256)

/** The fields the gateway reads; every other Responses field passes through untouched. */
export const responsesBody = z.looseObject({
  model: z.string().min(1).max(256),
  input: z.union([z.string(), z.array(z.looseObject({}))]).optional(),
  instructions: z.string().nullable().optional(),
  stream: z.boolean().nullable().optional(),
  max_output_tokens: z.number().int().positive().nullable().optional(),
  previous_response_id: storedId.nullable().optional(),
  conversation: z.union([storedId, z.looseObject({ id: storedId })]).nullable().optional(),
  store: z.boolean().nullable().optional(),
  background: z.boolean().nullable().optional(),
  tools: z.array(z.looseObject({ type: z.string() })).optional(),
  user: z.string().max(256).optional(),
})
type ResponsesBody = z.infer<typeof responsesBody>

/** `input_tokens` takes a response's input side; the model is required there too. */
const inputTokensBody = responsesBody.pick({ model: true, input: true, instructions: true, tools: true, previous_response_id: true, conversation: true, user: true })

const idParams = z.object({ id: storedId })

/** How a request reaches its target: as it is, or translated to Anthropic Messages or to chat completions. */
type Route = 'native' | 'anthropic' | 'chat'
const routeOf = (model: ResolvedModel | null): Route =>
  model?.provider.type === 'anthropic' ? 'anthropic' : model?.provider.responses === 'chat' ? 'chat' : 'native'

const conversationId = (c: ResponsesBody['conversation']): string | undefined => (typeof c === 'string' ? c : (c?.id ?? undefined))

/**
 * The stored context a request continues, as recorded: its size in the tokens of the models that made it, the
 * media parts in it (null when a row was recorded before they were counted), and how many of those a model
 * other than the request's target sized, which the target bills at its own rate; the bytes of its text (null
 * likewise), and its size as held on the target: the rows another model sized at their bytes when more than
 * their tokens, since the target's tokenizer may cut the same text finer (a Gujarati text of 6,900 bytes: 822
 * tokens on gpt-4o, 4,301 on gpt-4-turbo) and a token is at least a byte on any; and whether it holds audio,
 * which the provider reads again as audio input (null when a row recorded before that was kept may hold some).
 */
interface StoredContext {
  tokens: number
  mediaParts: number | null
  mediaPartsElsewhere: number
  bytes: number | null
  heldTokens: number
  holdsAudio: boolean | null
}

const NO_CONTEXT: StoredContext = { tokens: 0, mediaParts: 0, mediaPartsElsewhere: 0, bytes: 0, heldTokens: 0, holdsAudio: false }

/**
 * The tokens a stored context is held for on the target. With hard bounds, a media part another model sized
 * bills what the target makes of it: held again at the target's bound, on top of what that model billed for it
 * (an over-hold by that).
 */
const heldContextTokens = (context: StoredContext, options: EstimateOptions) =>
  context.heldTokens + (options.hardBounds ? context.mediaPartsElsewhere * options.mediaPartTokens : 0)

/**
 * Whether a stored context is held as audio input on the target: when it holds audio, and when it may (recorded
 * before that was kept) and the target prices audio input. The gateway bills audio on a model without an audio
 * input rate at its input rate (`ratesOf`), which the text hold covers: such a context is served there held as
 * text, not refused for audio it most likely does not hold.
 */
const contextHeldAsAudio = (context: StoredContext, price: Price | null): boolean => context.holdsAudio ?? price?.audioInputPerMillion != null

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0)

const hasId = (item: object): item is { id: string } => typeof (item as { id?: unknown }).id === 'string'

/** What recording a native response needs of its request: whether the provider keeps it, the conversation it names, its own input's media parts and audio, the tools it offers. */
interface AskedToRecord {
  kept: boolean
  conversation: string | null
  mediaParts: number
  holdsAudio: boolean
  offered: ReturnType<typeof responsesOfferedTools>
}

/** The count in an Anthropic count_tokens answer. One without it is malformed, as one that is no JSON (`readAnswer`: our 502). */
function countedTokens(text: string): number {
  const { input_tokens } = JSON.parse(text) as { input_tokens?: unknown }
  if (typeof input_tokens !== 'number' || !Number.isFinite(input_tokens)) throw new Error('no input_tokens')
  return input_tokens
}

export const responsesRoutes = (services: Services) => {
  const { config, providers } = services
  const owners = new ResponseOwners(services.store)

  /**
   * An OpenAI-type provider gets the body as it came, with the provider's model id, `max_tool_calls` when
   * billed hosted tools are offered without it (src/pricing/features.ts), and as `max_output_tokens` the
   * output clamp's max, or cap-output's bound. It is billed by the response: its usage, the hosted tool calls
   * in its output and the tier that served it. A response it stores is recorded for the billed user as soon
   * as it is created, with its context size: the request's worst case (its input, what its tools may bring
   * back, and its output bound) until the response reports its usage — a stream cut before that never does,
   * and is sized at its end with the output it delivered, if more — so that a request chained on it, or on
   * its conversation, is never held for less context than the provider will bill it. A conversation grows
   * by what each turn adds (its size less the stored context it started from): turns taken at once all add
   * their items to it. Each is recorded with the media parts its context holds (the stored context's, the
   * request's own, its output's), and its bytes (the stored context's, the request's input as its hold counts it,
   * its output's as input), carried along the chain for a continuation on another model; and whether it holds
   * audio (the stored context's or the request's own), carried along likewise: the provider reads it again.
   * The containers its output ran in are recorded for the billed user too, whatever `store` says: the provider
   * keeps a container, and the files in it, either way.
   */
  function responsesNative(body: ResponsesBody): (model: ResolvedModel, userId: string, admission: Admission, context: StoredContext) => Exchange {
    return (model, userId, admission, context) => {
      let upstreamBody = withFieldsLast(body, { model: model.upstreamModel })
      if (admission.outputClamp !== null) upstreamBody = withFieldsLast(upstreamBody, { max_output_tokens: admission.outputClamp })
      else if (config.cap_output_tokens) upstreamBody = withFieldsLast(upstreamBody, { max_output_tokens: outputBound(body.max_output_tokens, 1, config.default_max_output_tokens) })
      const asked: AskedToRecord = {
        kept: body.store !== false,
        conversation: conversationId(body.conversation) ?? null,
        mediaParts: responsesMediaParts(body.input),
        holdsAudio: responsesAudioInput(body.input),
        offered: responsesOfferedTools(body),
      }
      return { path: '/responses', body: upstreamBody, echoesInput: true, ...responseRecorder(asked, model, userId, admission, context) }
    }
  }

  /**
   * How a native response is read and recorded (`responsesNative`), made apart from it and given only what it asked
   * for: closures made there keep its scope, the parsed body in it, for as long as a stream runs (1.01 MB of live
   * heap per 700 KB stream, a chat stream's 0.31), and the body's claim counts none of that once the stream begins.
   */
  function responseRecorder(asked: AskedToRecord, model: ResolvedModel, userId: string, { estimate, tariff }: Admission, context: StoredContext): Omit<Exchange, 'path' | 'body'> {
    const heldInput = heldInputTokens(estimate.inputTokens, tariff.features, config.server_tool_use_input_tokens)
    const itemOptions = estimateOptionsFor(config, tariff.price, { provider: model.provider })
    // The request's own input in bytes (what its tools may bring back included): its hold's, less the stored context
    // as held and the template allowance, which the next turn holds again.
    const ownBytes = heldInput - heldContextTokens(context, itemOptions) - (itemOptions.templateOverheadTokens ?? 0)
    const mediaPartsWith = (output: unknown) => (context.mediaParts === null ? null : context.mediaParts + asked.mediaParts + responsesMediaParts(output))
    // Audio in its own input or in the context it continues is in the context it leaves; audio the context may hold, may be.
    const holdsAudio = asked.holdsAudio || context.holdsAudio
    // `kept`: whether the provider keeps the response itself (`store`); a conversation it names keeps its turn either way.
    let stored: { id: string; conversation: string | null; kept: boolean } | null = null
    let mediaParts = mediaPartsWith([])
    let added = { tokens: 0, mediaParts: 0, bytes: 0 }
    const recordSize = (contextTokens: number, outputBytes: number) => {
      if (!stored) return
      const contextBytes = context.bytes === null ? null : context.bytes + ownBytes + outputBytes
      const where = { userId, provider: model.providerName, model: model.canonical, contextTokens, mediaParts, contextBytes, holdsAudio }
      if (stored.kept) owners.record({ id: stored.id, kind: 'response', ...where })
      if (stored.conversation === null) return
      const adds = {
        tokens: Math.max(0, contextTokens - context.tokens),
        mediaParts: Math.max(0, (mediaParts ?? 0) - (context.mediaParts ?? 0)),
        bytes: Math.max(0, (contextBytes ?? 0) - (context.bytes ?? 0)),
      }
      const growth = { tokens: adds.tokens - added.tokens, mediaParts: adds.mediaParts - added.mediaParts, bytes: adds.bytes - added.bytes }
      owners.record({ id: stored.conversation, kind: 'conversation', ...where }, growth)
      added = adds
    }
    // The largest size a usage stated, and the output bytes recorded with it: -1 before any usage.
    let stated = { tokens: -1, outputBytes: 0 }
    // The output items recorded, and those a stream finished (`response.output_item.done`) with an id to record.
    const recordedItems = new Set<string>()
    const finishedItems: Array<{ id: string }> = []
    const recordedContainers = new Set<string>()
    const recordContainers = (output: unknown) => {
      for (const id of containersRanIn(output)) {
        if (recordedContainers.has(id)) continue
        recordedContainers.add(id)
        owners.recordContainer(id, { userId, provider: model.providerName, model: model.canonical })
      }
    }
    const recordedAny = () => stored !== null || recordedContainers.size > 0
    /**
     * A response's output as the provider keeps it: the items it lists, and those the stream finished that it does
     * not list (a final event may list none). All are recorded as it is, before the client has its ids.
     */
    const outputOf = (response: ResponseFacts): unknown[] => {
      const listed: unknown[] = Array.isArray(response.output) ? response.output : []
      const ids = new Set(listed.map((item) => (item as { id?: unknown } | null)?.id))
      return [...listed, ...finishedItems.filter((item) => !ids.has(item.id))]
    }
    const record = (response: ResponseFacts) => {
      const output = outputOf(response)
      recordContainers(output)
      if (typeof response.id !== 'string') return
      // The provider adds a turn's items to its conversation whatever `store` says: the conversation grows by them.
      const conversation = typeof response.conversation?.id === 'string' ? response.conversation.id : asked.conversation
      if (!asked.kept && conversation === null) return
      // A usage of no output beside output, or of no prompt, says nothing of its size, as it says nothing of its cost.
      const usage = answerUsage(responsesUsage(response.usage), { output }, estimate)
      // Its size by its usage, and each image it generated at the media bound: the image tool made it, billed per
      // image, not in the usage, and a request continuing the response has the provider read it as an image input.
      const usageSize = usage ? usage.promptTokens + usage.completionTokens + responsesGeneratedImages(output) * itemOptions.mediaPartTokens : -1
      // A final event repeated (a proxy's) with a smaller usage or none shrinks nothing an earlier one recorded,
      // as it shrinks nothing on the bill.
      if (stated.tokens >= 0 && usageSize <= stated.tokens) return
      stored = { id: response.id, conversation, kept: asked.kept }
      mediaParts = mediaParts === null ? null : Math.max(mediaParts, mediaPartsWith(output)!)
      // Its output comes back as the next request's input: each item's bytes as the estimate counts one sent inline.
      const itemBytes = output.map((item) => responsesItemInputTokens(item, itemOptions))
      if (usage) {
        stated = { tokens: usageSize, outputBytes: Math.max(stated.outputBytes, sum(itemBytes)) }
        recordSize(stated.tokens, stated.outputBytes)
        recordItems(output, itemBytes, usage.completionTokens, stated.tokens)
      } else {
        // Without a usage, sized with all the output it returned, past its bound too; its items are stored all the same.
        const outputTokens = Math.max(estimate.outputTokens, sum(itemBytes))
        recordSize(heldInput + outputTokens, outputTokens)
        recordItems(output, itemBytes, outputTokens, heldInput + outputTokens)
      }
    }
    /**
     * Each item of a finished response's output, which a later request may name by reference (the AI SDK
     * does, for a stored response): sized at the response's whole output, which bounds what the model wrote
     * into any one of them, or at the item's own bound as input, if more: a tool's result in it (an MCP
     * server's answer, file search results) was that response's input, and comes back into the context whole.
     * A tool's results the answer left out (returned only when asked for in `include`) are stored all the
     * same and come back too: that item is sized at the whole response, whose input they were part of.
     */
    const recordItems = (output: unknown, itemBytes: number[], outputTokens: number, responseTokens: number) => {
      if (!stored || !Array.isArray(output)) return
      // A conversation keeps its turns' items after their response is gone: they go with it, not with the response.
      const expiresWith = stored.conversation === null ? stored.id : null
      const where = { userId, provider: model.providerName, model: model.canonical, expiresWith }
      output.forEach((item, i) => {
        if (typeof item?.id !== 'string') return
        recordedItems.add(item.id)
        owners.record({
          id: item.id,
          kind: 'item',
          ...where,
          contextTokens: Math.max(outputTokens, itemBytes[i]!, resultsLeftOut(item) ? responseTokens : 0),
          mediaParts: responsesMediaParts([item]),
          contextBytes: itemBytes[i]!,
          holdsAudio: responsesAudioInput([item]),
        })
      })
    }
    /**
     * At a stream's end: one not billed by a usage (none came, or one of no output beside the output it
     * delivered, which `record` cannot tell from a final event that lists none, or of no prompt) is sized as one without, with
     * every byte of output it delivered, past its bound too. Usage or not, the items it finished that `record` has
     * not (it was cut before any final event, or they came after it) are recorded: the provider may keep them.
     */
    const recordEnd = (facts: StreamFacts) => {
      const usage = streamUsage(facts, estimate)
      // `record` sized it so already, unless it recorded a usage or the stream delivered more than its bound.
      if (!usage && (facts.deliveredOutputBytes > estimate.outputTokens || stated.tokens >= 0))
        recordSize(
          Math.max(heldInput + Math.max(estimate.outputTokens, facts.deliveredOutputBytes), stated.tokens),
          Math.max(facts.deliveredOutputBytes, stated.outputBytes),
        )
      const unlisted = finishedItems.filter((item) => !recordedItems.has(item.id))
      if (unlisted.length === 0) return
      const itemBytes = unlisted.map((item) => responsesItemInputTokens(item, itemOptions))
      if (usage) return recordItems(unlisted, itemBytes, usage.completionTokens, Math.max(stated.tokens, usage.promptTokens + usage.completionTokens))
      const outputTokens = Math.max(estimate.outputTokens, facts.deliveredOutputBytes, sum(itemBytes))
      recordItems(unlisted, itemBytes, outputTokens, Math.max(heldInput + outputTokens, stated.tokens))
    }
    const { offered } = asked
    return {
      usageOf: (response) => responseCounts(response, offered),
      statedTierOf: statedTier,
      // The ids the answer gives the client are written first: its next request may reach another replica.
      reply: async (response, text) => {
        record(response)
        if (recordedAny()) await owners.written()
        return text
      },
      stream: (upstream, meter) =>
        meterResponsesStream(upstream, {
          ...meter,
          offered,
          onResponse: record,
          onItemDone: (item) => {
            if (hasId(item)) finishedItems.push(item)
            recordContainers([item])
          },
          // The container is the user's from the call's first event: a stream stopped while the code runs leaves its id with them.
          onCallBegun: (item) => recordContainers([item]),
          untilRecorded: () => (recordedAny() ? owners.written() : null),
          onEnd: (facts) => {
            meter.onEnd(facts)
            recordEnd(facts)
          },
        }),
    }
  }

  /**
   * The stored ids a request names must be its user's (404 otherwise). The context they bring in — the
   * conversation's items, the chained response's input and output, each item named by reference (an item
   * sent by its id without its content among them: a reasoning item, a generated image) — is part of the
   * request's input: the rows recorded for them.
   * Every input item with an id the gateway recorded is its user's too, content or not: ids are unique, and
   * the provider may read its stored copy. All of them are looked up at once, and none when no item has an id.
   * So is every container it names by id (`containersNamed`): one of another user's holds that user's files.
   */
  async function contextOf(body: ResponsesBody, caller: Caller): Promise<StoredResponse[]> {
    const owner = ownerFor(caller, body.user)
    const ownedBy = (stored: StoredResponse | null | undefined): stored is StoredResponse => !!stored && (owner === null || stored.userId === owner)
    const context: StoredResponse[] = []
    const named: Array<[StoredKind, string]> = []
    const conversation = conversationId(body.conversation)
    if (conversation !== undefined) named.push(['conversation', conversation])
    if (body.previous_response_id) named.push(['response', body.previous_response_id])
    for (const [kind, id] of named) {
      const stored = await owners.find(id, kind, owner)
      if (!stored) throw notStored(kind, id)
      context.push(stored)
    }
    for (const id of containersNamed(body)) await refuseAnotherUsersContainer(owners, id, owner)
    // [id, whether the provider reads the item from its store: surely, if the gateway recorded it, or not at all]
    const items: Array<[string, 'reads' | 'reads if recorded' | 'does not read']> = []
    if (Array.isArray(body.input))
      for (const item of body.input) {
        // Named by reference or by its id alone, the provider reads the item from its store whatever this request's
        // `store` says: an earlier stored response keeps its input items too, under ids the client can list
        // (`input_items`) but the gateway never recorded. Only an item it recorded has a known size and owner.
        if (isItemReference(item) || isItemById(item)) items.push([String(item.id), 'reads'])
        else if (mayReadStoredReasoning(item)) items.push([String(item.id), 'reads if recorded'])
        else if (typeof item?.id === 'string') items.push([item.id, 'does not read'])
      }
    if (items.length === 0) return context
    const readFromStore = items.filter(([, read]) => read !== 'does not read').map(([id]) => id)
    const recorded = await owners.findItems(items.map(([id]) => id), owner, readFromStore)
    for (const [id, read] of items) {
      const stored = recorded.get(id)
      if (stored ? !ownedBy(stored) : read === 'reads') throw notStored('item', id)
      if (stored && read !== 'does not read') context.push(stored)
    }
    return context
  }

  /**
   * A context the gateway cannot size cannot be held for: refused before any hold, like a price it does not know.
   * Unknown are a size recorded without one (by a version before sizes were kept for conversations, or for
   * responses whose stream broke before their usage), and with cap-output on, the media parts or the bytes of a
   * row another model than `target` sized (recorded before they were counted): the target may bill them at more.
   * Without cap-output, such a row is held at its tokens.
   */
  async function sizedContextOf(body: ResponsesBody, caller: Caller, target: ResolvedModel | null): Promise<StoredContext> {
    const context = await contextOf(body, caller)
    const madeElsewhere = (stored: StoredResponse) => !!target && stored.model !== target.canonical
    const elsewhere = context.filter(madeElsewhere)
    const uncounted = (stored: StoredResponse) => stored.mediaParts === null || stored.contextBytes === null
    if (context.some((stored) => stored.contextTokens === null) || (config.cap_output_tokens && elsewhere.some(uncounted)))
      throw badRequest(
        'The size of the stored context this request continues (its conversation, previous response or an item by reference) is not known to the gateway, so its cost cannot be held: start a new conversation, or send the input again.',
        'context_size_unknown',
      )
    const parts = context.map((stored) => stored.mediaParts)
    const bytes = context.map((stored) => stored.contextBytes)
    return {
      tokens: sum(context.map((stored) => stored.contextTokens!)),
      mediaParts: parts.includes(null) ? null : sum(parts as number[]),
      mediaPartsElsewhere: sum(elsewhere.map((stored) => stored.mediaParts ?? 0)),
      bytes: bytes.includes(null) ? null : sum(bytes as number[]),
      heldTokens: sum(context.map((stored) => (madeElsewhere(stored) ? Math.max(stored.contextTokens!, stored.contextBytes ?? 0) : stored.contextTokens!))),
      holdsAudio: context.some((stored) => stored.holdsAudio) || (context.some((stored) => stored.holdsAudio === null) ? null : false),
    }
  }

  /** The provider that keeps a stored response this caller's user made (404 for anyone else). */
  async function keeperOf(request: Request, id: string) {
    const stored = await owners.find(id, 'response', ownerFor(authenticated(requestState(request)), undefined))
    if (!stored || !Object.hasOwn(config.providers, stored.provider)) throw notStored('response', id)
    return config.providers[stored.provider]!
  }

  /** Reading, deleting or cancelling a stored response: the owner's call, passed to the provider that keeps it. */
  const passThrough = async (request: Request, server: { timeout(r: Request, s: number): void } | null, method: 'GET' | 'POST' | 'DELETE', suffix: string, id: string) => {
    switchIdleTimeoutOff(request, server)
    await refuseDeadKeyOrBlockedUser(services.store, authenticated(requestState(request)))
    const provider = await keeperOf(request, id)
    const query = new URL(request.url).search
    return callUnmetered(provider, method, `/responses/${encodeURIComponent(id)}${suffix}${method === 'GET' ? query : ''}`, undefined, {
      freeCalls: services.freeCalls,
      keyId: authenticated(requestState(request)).keyId,
      timeouts: config,
      request,
    })
  }

  const idDetail = (summary: string) => ({
    params: idParams,
    detail: {
      tags: ['inference'],
      summary,
      description: `Only for keys of the user that created the response (404 otherwise), not blocked; costs nothing. ${FREE_CALL_REFUSALS}`,
    },
  })

  return new Elysia({ name: 'responses' })
    .post(
      ENDPOINT,
      async ({ body: received, request, server }) => {
        // A background response outlives the request, and so would its cost: a hold cannot follow it.
        if (received.background === true)
          throw badRequest('Invalid body: background: background responses are not served: their cost could not be held and settled with the request.', 'background_unsupported')
        refuseNonResponsesOutputFields(received)
        const target = resolveModel(services, received.model, ENDPOINT)
        const route = routeOf(target)
        // Claude's thinking goes back to Claude only, as reasoning from elsewhere is dropped on the way to Claude.
        const body = route === 'anthropic' ? received : withoutCarriedThinking(received)
        // Translated before the hold: a body the target cannot carry is a 400 that costs nothing. Anthropic
        // runs web search itself, when the price book can price it there.
        const bounds = serverToolBounds(config)
        const webSearch = route === 'anthropic' && (await services.prices.priceOf(target!.canonical))?.serverTools?.web_search !== undefined
        const translated = route === 'anthropic'
          ? responsesViaAnthropic(body, { defaultMaxOutputTokens: config.default_max_output_tokens, webSearch, bounds, provider: target!.provider, upstreamModel: target!.upstreamModel })
          : route === 'chat' ? responsesViaChat(body, target!, config) : null
        if (!translated) refuseStoredPrompt(body)
        const native = translated ? null : openAIResponsesFeatures(body, bounds, target?.upstreamModel ?? '')
        // Before the stored context is read, as every other refusal of what the image model would read.
        if (native?.features.imageModelInput?.reads != null) refuseUnpricedImageModelInput(target ? await services.prices.priceOf(target.canonical) : null, native.features)
        const caller = authenticated(requestState(request))
        const context = translated ? NO_CONTEXT : await sizedContextOf(body, caller, target)
        if (!translated) refuseImageToolOverStoredMedia(body, context.mediaParts)
        if (!translated && (body.store !== false || conversationId(body.conversation) !== undefined)) await owners.refuseWhileKeptBack()
        const stream = body.stream === true
        const admission = await admitRequest(services, request, server, {
          model: body.model,
          target,
          namedUser: body.user,
          endpoint: ENDPOINT,
          stream,
          clampable: true,
          // Translated, the hold covers the request as the target receives it too (its wrappers, default schemas).
          estimate: (price) => {
            // A file by reference is bounded as the provider that reads it bounds it (Anthropic's PDF pages, its window).
            const options = estimateOptionsFor(config, price, { anthropic: route === 'anthropic', openedWindowTokens: contextWindowOf(translated?.features), upstreamModel: target?.upstreamModel, provider: target?.provider })
            const estimated = estimateResponses(body, { ...options, contextTokens: heldContextTokens(context, options) })
            // A stored context's media another model sized is held at a bound too, which this model's rules may exceed.
            const sent = context.mediaPartsElsewhere > 0 ? { ...estimated, boundsInput: false } : estimated
            if (!translated) return sent
            const upstream = route === 'anthropic' ? estimateMessages(translated.request, options) : estimateChat(translated.request, options)
            return largerEstimate(sent, upstream)
          },
          // Audio a stored context holds is read again as audio input, as chat's earlier audio answer named by id is.
          features: translated ? translated.features : (price) => ({ ...native!.features, audioInput: native!.features.audioInput || contextHeldAsAudio(context, price) }),
        })
        using hold = admission.hold
        // Made before the call: nothing may throw between the provider's answer and its relay.
        const dropped = translated && translated.dropped.length > 0 ? droppedToolsHeader(translated.dropped) : null
        const exchange = translated
          ? translated.exchangeFor(admission.model, admission.outputClamp)
          : responsesNative(native!.body)(admission.model, admission.userId, admission, context)
        const res = await relay({ request, admission, hold, stream, config }, exchange)
        if (dropped) res.headers.set(DROPPED_TOOLS_HEADER, dropped)
        return res
      },
      {
        body: stoppingAtFirstIssue(responsesBody),
        parse: 'json',
        transform: ({ body }) => refuseCaseVariantKeys(body),
        detail: {
          tags: ['inference'],
          summary: 'Responses (OpenAI Responses API; JSON or SSE stream)',
          description:
            'Passed through to an OpenAI-type provider; translated both ways for an Anthropic provider (and for an OpenAI-type ' +
            'provider set to `responses: chat`), where hosted tools are dropped and named in `X-Tollgate-Dropped-Tools` ' +
            '(except `web_search` on an Anthropic model whose web search is priced: run as its server tool). ' +
            'Metered from the usage of the response (`response.completed`, `response.incomplete` or `response.failed` on a stream). ' +
            'Hosted tools with fees need a price (402 otherwise), are bounded by `max_tool_calls` and charged per call; ' +
            '`previous_response_id`, `conversation` and a container named by id only for ids the same user created (404 otherwise); `background: true` is refused.',
          responses: billedCallResponses({
            format: 'openai',
            ok: 'The response: JSON, or an SSE stream of events when `stream` is true',
            refusals: [
              [400, 'background_unsupported', '`background: true`, whose cost could not be held and settled with the request'],
              [400, 'context_size_unknown', 'the stored context the request continues has no size the gateway knows'],
              [400, 'stored_state_unsupported', 'a stored context named for a model served by translation, which keeps none: send the whole conversation as input'],
              STORED_PROMPT_REFUSED,
              EXTRA_BODY_REFUSED, SERVER_FIELDS_REFUSED, CHAT_OUTPUT_FIELDS_REFUSED, PRESET_REFUSED, IMAGE_GENERATION_SETTINGS_REFUSED,
              [404, 'response_not_found', '`previous_response_id` names no response this user created'],
              [404, 'conversation_not_found', '`conversation` names none this user created'],
              [404, 'item_not_found', 'an input item by reference names none this user created'],
              [404, 'container_not_found', 'a tool or an input item names a container by id that no response of this user ran in'],
            ],
          }),
        },
      },
    )
    .post(
      `${ENDPOINT}/input_tokens`,
      async ({ body, request }) => {
        const caller = authenticated(requestState(request))
        await refuseDeadKeyOrBlockedUser(services.store, caller)
        refuseUserMismatch(caller, body.user, config.reject_user_mismatch)
        const model = resolveModel(services, body.model, ENDPOINT)
        if (!model) throw unknownModel(body.model)
        if (!mayCall(caller, body.model, model.canonical, providers.aliases)) throw modelNotAllowed(body.model)
        const free = { freeCalls: services.freeCalls, keyId: caller.keyId, timeouts: config, request }
        const route = routeOf(model)
        if (route === 'native') {
          await contextOf(body, caller)
          return callUnmetered(model.provider, 'POST', '/responses/input_tokens', withFieldsLast(withoutCarriedThinking(body), { model: model.upstreamModel }), free)
        }
        if (route === 'chat') throw badRequest(`${model.canonical} is served through chat completions, which cannot count tokens.`, 'unsupported_endpoint')
        const countable = responsesToCountTokens(body, { defaultMaxOutputTokens: config.default_max_output_tokens, upstreamModel: model.upstreamModel })
        const inputTokens = await readUnmetered(model.provider, '/v1/messages/count_tokens', { model: model.upstreamModel, ...countable }, free, (answer) => (text) =>
          countedTokens(errorCheckedText(answer, model.provider)(text)),
        )
        return Response.json({ object: 'response.input_tokens', input_tokens: inputTokens })
      },
      {
        body: stoppingAtFirstIssue(inputTokensBody),
        parse: 'json',
        transform: ({ body }) => refuseCaseVariantKeys(body),
        detail: {
          tags: ['inference'],
          summary: 'Count a response’s input tokens (free)',
          description:
            'Passed through to an OpenAI-type provider; counted by Anthropic’s count_tokens for an Anthropic model. Subject to the key’s allowed models; refused to a blocked user, and to a key whose body names another user (403 `user_mismatch`, as on the billed routes). ' +
            FREE_CALL_REFUSALS,
        },
      },
    )
    .get(`${ENDPOINT}/:id`, ({ params, request, server }) => passThrough(request, server, 'GET', '', params.id), {
      ...idDetail('Retrieve a stored response'),
      query: storedResponseQuery,
    })
    .delete(
      `${ENDPOINT}/:id`,
      async ({ params, request, server }) => {
        const { answer, deleted } = await readDeletion(await passThrough(request, server, 'DELETE', '', params.id))
        // A 2xx that says no deletion leaves the rows: they hold a request naming an item the provider may still keep.
        if (deleted) owners.forget(params.id)
        return answer
      },
      idDetail('Delete a stored response'),
    )
    .post(`${ENDPOINT}/:id/cancel`, ({ params, request, server }) => passThrough(request, server, 'POST', '/cancel', params.id), idDetail('Cancel a response'))
    .get(`${ENDPOINT}/:id/input_items`, ({ params, request, server }) => passThrough(request, server, 'GET', '/input_items', params.id), {
      ...idDetail('List a stored response’s input items'),
      query: inputItemsQuery,
    })
}
