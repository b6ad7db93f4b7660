import { responsesServerToolUses, toolCounts, type OfferedTools } from '../pricing/features'
import type { TokenCounts } from '../pricing/price'
import { formatSse, jsonOf, type SseEvent } from '../translate/sse'
import { responseCounts, type ResponsesUsage } from '../translate/usage'
import { generatedBytes } from './generated-output'
import { largerCounts } from './larger-counts'
import { KEEP_ALIVE, meterStream, STREAM_ERRORS, type EventMeter, type MeterOptions, type Passed } from './metered-stream'
import { redactedErrorEvent } from './provider-error-event'

/** What the gateway needs to know of a response object (`response.created` and the events that end it). */
export interface ResponseFacts {
  id?: unknown
  conversation?: { id?: unknown } | null
  usage?: ResponsesUsage | null
  output?: unknown
  service_tier?: unknown
  tool_usage?: unknown
}

interface StreamEvent {
  type?: string
  sequence_number?: number
  response?: ResponseFacts
  delta?: unknown
  partial_image_b64?: unknown
  output_index?: unknown
  item_id?: unknown
  item?: CallItem | { type?: unknown; id?: unknown }
  part?: unknown
}

/**
 * What the meter keeps of a call item: its type, the container it ran in (code interpreter's `container_id`, a
 * shell's `environment`), and its name (a `custom_tool_call` may be a call of one of xAI's server-side tools).
 */
interface CallItem {
  id?: unknown
  type: string
  name?: unknown
  container_id?: unknown
  environment?: unknown
}

/**
 * The output an item has delivered, and the part of it being streamed (a content or summary part, a call's
 * arguments): the whole forms that follow count only what these do not. With how events have named the item.
 */
interface ItemCount {
  bytes: number
  partBytes: number
  index?: number
  id?: unknown
}

const newItemCount = (): ItemCount => ({ bytes: 0, partBytes: 0 })

/** The events that end a response; each carries the response with its usage. */
const FINAL_EVENTS = new Set(['response.completed', 'response.incomplete', 'response.failed'])

const isCall = (item: StreamEvent['item']): item is CallItem => typeof item?.type === 'string' && item.type.endsWith('_call')

/**
 * Responses API events. Usage is read from whichever event ends the response: `response.completed`,
 * `response.incomplete` (cut by `max_output_tokens`) or `response.failed` (the provider still bills what
 * it generated). Output is counted from every event that streams output as a `delta` (text,
 * refusal, reasoning summary and text, function and custom tool arguments, audio and its transcript,
 * code, MCP arguments, and kinds added later) and from partial images; and from the whole forms the SDKs
 * show too, where no delta delivered it: a part's (`*_part.added`, and the `.done` events: `output_text.done`,
 * `function_call_arguments.done`, `content_part.done`…) when none of that part was counted yet, an item's
 * (`response.output_item.added` or `.done`: its text, a call's arguments or input, a reasoning item's
 * `encrypted_content`, annotations) for what it shows past what its parts counted, and the final response's
 * output items likewise. A cut stream pays for all of it.
 * Hosted tool uses are counted from the items of the final response's output and from the call items the
 * stream began (`response.output_item.added`, or `.done` for one whose start was not seen), whichever
 * shows more: a stream cut before its final event pays for the calls begun, not every call allowed (the
 * upstream call is aborted with it, so no other call is made). The provider's own failure
 * (`response.failed`, `error`) is passed on with its credentials cut out.
 */
class ResponsesEventMeter implements EventMeter {
  deliveredOutputBytes = 0
  finished = false
  providerFailed = false
  private lastSequence = -1
  /** Each item's counts, by its position and by its id (`itemOf`); the last one an event named. */
  private readonly itemsByIndex = new Map<number, ItemCount>()
  private readonly itemsById = new Map<unknown, ItemCount>()
  private item: ItemCount = newItemCount()
  /** The hosted tool calls begun so far, by item id (type and container only). */
  private readonly toolItems = new Map<unknown, Omit<CallItem, 'id'>>()
  private finalUsage: TokenCounts | null = null
  private outputAfterUsage = false

  /** What the final event waits for before the client gets it (see `takeWait`). */
  private wait: Promise<void> | null = null

  constructor(
    private readonly onResponse?: (response: ResponseFacts) => void,
    private readonly secrets?: () => readonly string[],
    private readonly offered?: OfferedTools,
    private readonly untilRecorded?: () => Promise<void> | null,
    private readonly onItemDone?: (item: object) => void,
    private readonly onCallBegun?: (item: CallItem) => void,
  ) {}

  /**
   * The final event's usage counts the output generated up to it; output streamed after it (the provider's
   * or a proxy's) is not counted there. So, as in the chat and Messages meters, the usage stands for the stream
   * only if no output came after it; otherwise the stream is billed as one without usage, never from the
   * smaller count.
   */
  get usage(): TokenCounts | null {
    return this.outputAfterUsage ? null : this.finalUsage
  }

  takeWait(): Promise<void> | null {
    const wait = this.wait
    this.wait = null
    return wait
  }

  inspect(sse: SseEvent): Passed | null {
    if (sse.data === '') return KEEP_ALIVE
    if (sse.data === '[DONE]') return sse
    const event = jsonOf<StreamEvent>(sse)
    if (!event || typeof event !== 'object') return null
    if (typeof event.sequence_number === 'number') this.lastSequence = event.sequence_number
    const type = event.type ?? sse.event ?? ''
    if (type.endsWith('.delta')) {
      const item = this.itemOf(event)
      const n = generatedBytes(event.delta)
      this.noteOutput(n)
      item.bytes += n
      item.partBytes += n
    } else if (type === 'response.image_generation_call.partial_image') this.noteOutput(generatedBytes(event.partial_image_b64))
    else if (type === 'response.output_item.added' || type === 'response.output_item.done') {
      const begins = type === 'response.output_item.added'
      if (isCall(event.item)) {
        this.noteCall(event.item, event.output_index)
        if (begins) this.onCallBegun?.(event.item)
      }
      if (event.item) this.noteWholeItem(event, event.item, begins)
      if (typeof event.item === 'object' && event.item !== null && !begins) this.onItemDone?.(event.item)
    } else if (type.endsWith('_part.added')) {
      const item = this.itemOf(event)
      item.partBytes = 0
      this.noteWholePart(item, event.part)
    } else if (type.endsWith('.done')) this.noteWholePart(this.itemOf(event), event)
    else if (type === 'response.created' && event.response) this.onResponse?.(event.response)
    else if (FINAL_EVENTS.has(type)) {
      const failed = type === 'response.failed'
      if (failed) this.providerFailed = true
      else this.finished = true
      // Counted before its usage is taken: the usage counts it.
      if (event.response) this.noteFinalOutput(event.response.output)
      // A final event repeated (a proxy's, with a smaller usage or none) shrinks nothing the first one stated, and
      // accounts for output delivered since only if it counts more of it.
      const stated = event.response ? this.withToolItems(responseCounts(event.response, this.offered)) : null
      if (this.finalUsage === null || (stated !== null && stated.completionTokens > this.finalUsage.completionTokens)) this.outputAfterUsage = false
      this.finalUsage = stated === null ? this.finalUsage : largerCounts(this.finalUsage, stated)
      if (event.response) {
        this.onResponse?.(event.response)
        this.wait = this.untilRecorded?.() ?? null
      }
      if (failed) return redactedErrorEvent(sse, event, this.secrets)
    } else if (type === 'error') {
      this.providerFailed = true
      return redactedErrorEvent(sse, event, this.secrets)
    }
    return sse
  }

  /**
   * An item as it begins or ends: whatever it shows past what was counted of it (all of it as it begins; as it
   * ends, what came only there, such as a reasoning item's `encrypted_content`, or all of it when nothing streamed).
   */
  private noteWholeItem(event: StreamEvent, whole: object, begins: boolean): void {
    const item = this.itemOf(event, begins)
    const n = Math.max(0, generatedBytes(whole) - item.bytes)
    this.noteOutput(n)
    item.bytes += n
  }

  /**
   * The final response's output items, for what no earlier event counted of them: a proxy that buffers the stream
   * may send its output only there. Each is the item its position or id names, as in an `output_item.done`.
   */
  private noteFinalOutput(output: unknown): void {
    if (!Array.isArray(output)) return
    output.forEach((whole: unknown, index) => {
      if (typeof whole === 'object' && whole !== null) this.noteWholeItem({ output_index: index, item: whole }, whole, false)
    })
  }

  /**
   * The counts of the item an event names, by its `output_index` or its id; kept for the whole stream, since
   * items may interleave (parallel function calls: both added, their deltas alternating, then each one's `.done`).
   * The id decides first: shims from chat completions give every item the same `output_index`, so the item last
   * at an index is the event's only when the event names no id, or that item had none. An event that names no
   * item, or names it only in ways the last item named was not named (a server that numbers some events and not
   * others), is of that item; any other is a new one, and an item that begins is always counted anew.
   */
  private itemOf(event: StreamEvent, begins = false): ItemCount {
    const index = typeof event.output_index === 'number' ? event.output_index : undefined
    const id = event.item_id ?? event.item?.id
    const last = this.item
    const namedAnew = (index === undefined || last.index === undefined) && (id == null || last.id === undefined)
    const item = begins ? newItemCount() : (this.knownItem(index, id) ?? (namedAnew ? last : newItemCount()))
    if (index !== undefined && item.index === undefined) this.itemsByIndex.set((item.index = index), item)
    if (id != null && item.id === undefined) this.itemsById.set((item.id = id), item)
    return (this.item = item)
  }

  private knownItem(index: number | undefined, id: unknown): ItemCount | undefined {
    const byId = id == null ? undefined : this.itemsById.get(id)
    if (byId) return byId
    const byIndex = index === undefined ? undefined : this.itemsByIndex.get(index)
    return byIndex && (id == null || byIndex.id === undefined) ? byIndex : undefined
  }

  /**
   * A part, or an event that ends one (its text, arguments or input, its part whole), counted only when nothing
   * of the part was (no delta): after deltas it restates them, and is not read. The item's end counts what it adds.
   */
  private noteWholePart(item: ItemCount, whole: unknown): void {
    if (item.partBytes > 0) return
    const n = generatedBytes(whole)
    this.noteOutput(n)
    item.bytes += n
    item.partBytes += n
  }

  private noteOutput(bytes: number): void {
    this.deliveredOutputBytes += bytes
    if (bytes > 0) this.outputAfterUsage = true
  }

  /** A call item begun or closed; its container may be named only when it closes. */
  private noteCall(item: CallItem, outputIndex: unknown): void {
    const key = item.id ?? outputIndex
    const seen = this.toolItems.get(key)
    this.toolItems.set(key, { type: item.type, name: item.name ?? seen?.name, container_id: item.container_id ?? seen?.container_id, environment: item.environment ?? seen?.environment })
  }

  get serverToolUses(): Record<string, number> {
    return responsesServerToolUses([...this.toolItems.values()], this.offered)
  }

  private withToolItems(counts: TokenCounts | null): TokenCounts | null {
    if (!counts) return null
    const uses = Object.assign(toolCounts(), counts.serverToolUses)
    for (const [tool, n] of Object.entries(this.serverToolUses)) uses[tool] = Math.max(uses[tool] ?? 0, n)
    return { ...counts, serverToolUses: uses }
  }

  /** An `error` event, numbered after the last one the client got, as OpenAI ends a stream that broke. */
  errorEvent(why: keyof typeof STREAM_ERRORS): string {
    // The answer was made; what failed is the gateway's own write (src/records/response-owners.ts): as its JSON answer's 503.
    return responsesStreamError(STREAM_ERRORS[why], this.lastSequence + 1, why === 'unrecorded' ? 'database_busy' : 'upstream_error')
  }
}

const responsesStreamError = (message: string, sequenceNumber: number, code = 'upstream_error') =>
  formatSse({ type: 'error', code, message, param: null, sequence_number: sequenceNumber }, 'error')

/**
 * Meters a Responses API SSE stream on its way to the client (see `meterStream`); `onResponse` sees the
 * response as it is created and as it ends, and the final event waits for `untilRecorded`; `offered`, the
 * request's tools its calls are settled by.
 */
export function meterResponsesStream(
  upstream: ReadableStream<Uint8Array>,
  o: MeterOptions & {
    onResponse?: (response: ResponseFacts) => void
    untilRecorded?: () => Promise<void> | null
    offered?: OfferedTools
    /** Each output item as it is finished (`response.output_item.done`), before any final event. */
    onItemDone?: (item: object) => void
    /**
     * Each call item as it begins (`response.output_item.added`), before the client has it: a call names the container
     * it runs in from its start, which a stream stopped before the call ends leaves in the client's hands.
     */
    onCallBegun?: (item: object) => void
  },
): ReadableStream<Uint8Array> {
  return meterStream(upstream, new ResponsesEventMeter(o.onResponse, o.secrets, o.offered, o.untilRecorded, o.onItemDone, o.onCallBegun), o)
}
