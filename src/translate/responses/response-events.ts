import type { Converted } from '../convert-stream'
import { jsonPieces, pieceEnd, PIECE_UNITS } from '../json-pieces'
import { formatSse, MAX_EVENT_CHARS } from '../sse'
import { opensObject, responsesArgumentsOf } from '../tool-arguments'
import { outputItems, outputText, refusalPart, searchQuery, urlCitation } from './message-to-response'
import { responseObject } from './response-object'
import type { FunctionName } from './function-names'

type Json = Record<string, any>
type EventTexts = Exclude<Converted, string>[number][]

interface OpenItem {
  kind: 'message' | 'reasoning' | 'function_call' | 'web_search_call'
  id: string
  /** A message whose one part is a refusal (chat's `refusal`), not `output_text`. */
  refusal?: true
  /** The text streamed so far (for a search, the JSON of its input). */
  text: string
  block?: Json
  /** A message's citations, as the target sent them (annotations once the text is whole). */
  citations?: Json[]
  /** Whether a function call's arguments are streamed as they come (they open an object): unknown while they are all whitespace. */
  streaming?: boolean
}

const annotationsOf = (message: OpenItem): Json[] =>
  (message.citations ?? []).map((c) => urlCitation(c, message.text)).filter((a): a is Json => a !== null)

/**
 * Writes a Responses API event stream as OpenAI does: named events numbered by `sequence_number`,
 * `response.created` and `in_progress`, each output item opened, streamed by deltas and closed with its
 * whole content, and one event that ends the response with the response object (its whole output: the
 * protocol repeats it there). The translating converters drive it from the target's own events.
 */
export class ResponseEventWriter {
  private seq = 0
  /** Output items by index; an item's slot stays empty until it is done. */
  private readonly output: Array<Json | null> = []
  private readonly open = new Map<number, OpenItem>()
  private readonly createdAt = Math.floor(Date.now() / 1000)
  private started = false
  /** The response has ended (completed or failed): every method writes nothing more, as its end event must be the last. */
  finished = false
  /** The text of every item so far, in UTF-16 units: its done events and the response's end repeat all of it. */
  private kept = 0
  /** The response's text outgrew what is kept (`MAX_EVENT_CHARS`): it ended failed there. */
  outgrown = false

  constructor(private readonly echo: Json, private id = '', private model = '') {}

  private event(type: string, data: Json): string {
    return formatSse({ type, sequence_number: this.seq++, ...data }, type)
  }

  /**
   * An event numbered now, its data written when its turn to be handed comes (see `Converted`): a done event repeats
   * its item's whole text, and the response's end every item's. Once the text is long, a piece at a time (jsonPieces,
   * several times slower than writing a short event whole).
   */
  private laterEvent(type: string, data: Json): EventTexts {
    const event = { type, sequence_number: this.seq++, ...data }
    return [`event: ${type}\ndata: `, () => (this.kept > PIECE_UNITS ? jsonPieces(event) : JSON.stringify(event)), '\n\n']
  }

  private response(status: 'in_progress' | 'completed' | 'incomplete' | 'failed', extra: Json = {}): Json {
    return responseObject(this.echo, { id: this.id, model: this.model, createdAt: this.createdAt, status, output: this.output.filter((item): item is Json => item !== null), usage: null, ...extra })
  }

  start(id: string, model: string): string {
    if (this.finished) return ''
    this.started = true
    this.id = id
    this.model = model
    return this.event('response.created', { response: this.response('in_progress') }) +
      this.event('response.in_progress', { response: this.response('in_progress') })
  }

  /** Opens an item, with the event that opens its part if it has one; once the response has ended, none (index -1). */
  private add(item: OpenItem, shown: Json, part?: (index: number) => string): { index: number; text: string } {
    if (this.finished) return { index: -1, text: '' }
    const index = this.output.length
    this.output.push(null)
    this.open.set(index, item)
    return { index, text: this.event('response.output_item.added', { output_index: index, item: shown }) + (part?.(index) ?? '') }
  }

  private done(index: number, item: Json): EventTexts {
    this.output[index] = item
    this.open.delete(index)
    return this.laterEvent('response.output_item.done', { output_index: index, item })
  }

  textStart(id: string): { index: number; text: string } {
    return this.add({ kind: 'message', id, text: '' }, { id, type: 'message', status: 'in_progress', role: 'assistant', content: [] },
      (index) => this.event('response.content_part.added', { item_id: id, output_index: index, content_index: 0, part: outputText('') }))
  }

  /** A message that refuses: its part a `refusal`, which SDKs do not parse as the answer. */
  refusalStart(id: string): { index: number; text: string } {
    return this.add({ kind: 'message', id, text: '', refusal: true }, { id, type: 'message', status: 'in_progress', role: 'assistant', content: [] },
      (index) => this.event('response.content_part.added', { item_id: id, output_index: index, content_index: 0, part: refusalPart('') }))
  }

  reasoningStart(id: string): { index: number; text: string } {
    return this.add({ kind: 'reasoning', id, text: '' }, { id, type: 'reasoning', summary: [] },
      (index) => this.event('response.reasoning_summary_part.added', { item_id: id, output_index: index, summary_index: 0, part: { type: 'summary_text', text: '' } }))
  }

  /** A call of the client's function, by the client's name of it (a namespaced one's name and namespace). */
  callStart(callId: string, call: FunctionName): { index: number; text: string } {
    const id = `fc_${callId}`
    return this.add({ kind: 'function_call', id, text: '', block: { id: callId, ...call } },
      { id, type: 'function_call', status: 'in_progress', arguments: '', call_id: callId, ...call })
  }

  /** A web search, its query to be streamed as the JSON of its input: announced in progress. */
  searchStart(callId: string): { index: number; text: string } {
    const id = `ws_${callId}`
    return this.add({ kind: 'web_search_call', id, text: '', block: { id: callId } }, { id, type: 'web_search_call', status: 'in_progress' },
      (index) => this.event('response.web_search_call.in_progress', { item_id: id, output_index: index }))
  }

  /** The search's query is whole: it is running. */
  searching(index: number): string {
    const item = this.open.get(index)
    return item?.kind === 'web_search_call' && !this.finished ? this.event('response.web_search_call.searching', { item_id: item.id, output_index: index }) : ''
  }

  /** The index of the open search made by the target's tool call `callId`, if any. */
  openSearch(callId: string): number | undefined {
    for (const [index, item] of this.open) if (item.kind === 'web_search_call' && item.block?.id === callId) return index
    return undefined
  }

  /** A message's citation of a search result, annotated when the message's text is whole. */
  cite(index: number, citation: Json): void {
    const item = this.open.get(index)
    if (item?.kind === 'message') (item.citations ??= []).push(citation)
  }

  delta(index: number, delta: string): Converted {
    const item = this.open.get(index)
    if (!item || delta === '' || this.finished) return ''
    // Each event may be that long (the parser's cap), and the response's end repeats every item's text in one.
    this.kept += delta.length
    if (this.kept > MAX_EVENT_CHARS) {
      this.outgrown = true
      return this.fail(`The answer grew past the ${MAX_EVENT_CHARS / (1 << 20)} Mi characters the gateway translates of one response, so it was stopped there.`, null)
    }
    item.text += delta
    if (item.kind === 'web_search_call') return ''
    const at = { item_id: item.id, output_index: index }
    if (item.refusal) return this.deltaEvents('response.refusal.delta', delta, (delta) => ({ ...at, content_index: 0, delta }))
    if (item.kind === 'message') return this.deltaEvents('response.output_text.delta', delta, (delta) => ({ ...at, content_index: 0, delta, logprobs: [] }))
    if (item.kind === 'reasoning') return this.deltaEvents('response.reasoning_summary_text.delta', delta, (delta) => ({ ...at, summary_index: 0, delta }))
    if (item.streaming) return this.deltaEvents('response.function_call_arguments.delta', delta, (delta) => ({ ...at, delta }))
    // Arguments that do not open an object (Ollama's no-argument `null`) are held: `end` gives them, as OpenAI would write them.
    // Until now the text was all whitespace (this delta decides), or it was found not to open an object.
    item.streaming ??= opensObject(delta)
    if (!item.streaming) return ''
    return this.deltaEvents('response.function_call_arguments.delta', item.text, (delta) => ({ ...at, delta }))
  }

  /**
   * The `type` events that carry `delta` (`data` puts a piece in its event): one, or for a long one (a provider may
   * send a whole answer in one event), its pieces, each written when its turn to be handed comes (see `Converted`)
   * rather than one event, a copy of the text, built at once. Clients join the deltas as they join a streaming model's.
   */
  private deltaEvents(type: string, delta: string, data: (piece: string) => Json): Converted {
    if (delta.length <= PIECE_UNITS) return this.event(type, data(delta))
    const pieces: EventTexts = []
    for (let start = 0; start < delta.length;) {
      const [sequence_number, from, end] = [this.seq++, start, pieceEnd(delta, start)]
      pieces.push(() => formatSse({ type, sequence_number, ...data(delta.slice(from, end)) }, type))
      start = end
    }
    return pieces
  }

  /**
   * Closes an item; a reasoning item carries `block` (the thinking block, signature included) for the next
   * turn, a search its result block.
   */
  end(index: number, block?: Json): EventTexts {
    const item = this.open.get(index)
    if (!item || this.finished) return []
    const at = { item_id: item.id, output_index: index }
    // The done events each carry the item's whole text: each is written when its turn to be handed comes.
    if (item.refusal) {
      return [
        ...this.laterEvent('response.refusal.done', { ...at, content_index: 0, refusal: item.text }),
        ...this.laterEvent('response.content_part.done', { ...at, content_index: 0, part: refusalPart(item.text) }),
        ...this.done(index, outputItems.refusal(item.id, item.text)),
      ]
    }
    if (item.kind === 'message') {
      const annotations = annotationsOf(item)
      return [
        ...annotations.map((annotation, i) => this.event('response.output_text.annotation.added', { ...at, content_index: 0, annotation_index: i, annotation })),
        ...this.laterEvent('response.output_text.done', { ...at, content_index: 0, text: item.text, logprobs: [] }),
        ...this.laterEvent('response.content_part.done', { ...at, content_index: 0, part: outputText(item.text, annotations) }),
        ...this.done(index, outputItems.message(item.id, item.text, 'completed', annotations)),
      ]
    }
    if (item.kind === 'web_search_call') {
      return [this.event('response.web_search_call.completed', at), ...this.done(index, outputItems.webSearchCall(item.block!.id, searchQuery(item.text), block))]
    }
    if (item.kind === 'reasoning') {
      const carried = block ?? { type: 'thinking', thinking: item.text }
      const part = { type: 'summary_text', text: item.text }
      return [
        ...this.laterEvent('response.reasoning_summary_text.done', { ...at, summary_index: 0, text: item.text }),
        ...this.laterEvent('response.reasoning_summary_part.done', { ...at, summary_index: 0, part }),
        ...this.done(index, outputItems.reasoning(item.id, carried)),
      ]
    }
    // A tool with no parameters streams no arguments: OpenAI's are then `{}`, which SDKs parse as JSON.
    const args = responsesArgumentsOf(item.text)
    const held = !item.streaming && item.text !== '' ? this.event('response.function_call_arguments.delta', { ...at, delta: args }) : ''
    return [held, ...this.laterEvent('response.function_call_arguments.done', { ...at, arguments: args }), ...this.done(index, outputItems.functionCall(item.block!, args))]
  }

  /** A reasoning item that arrives whole (Claude's redacted thinking). */
  reasoningWhole(id: string, block: Json): Converted {
    if (this.finished) return ''
    const { index, text } = this.add({ kind: 'reasoning', id, text: '' }, { id, type: 'reasoning', summary: [] })
    return [text, ...this.done(index, outputItems.reasoning(id, block))]
  }

  /** Ends the response: `response.completed`, or `response.incomplete` with its reason (its whole output: written last). */
  complete(usage: Json, incompleteReason: string | null): EventTexts {
    if (this.finished) return []
    const out: EventTexts = []
    for (const index of [...this.open.keys()]) out.push(...this.end(index))
    this.finished = true
    const status = incompleteReason ? 'incomplete' : 'completed'
    out.push(...this.laterEvent(`response.${status}`, { response: this.response(status, { usage, incompleteReason }) }))
    return out
  }

  /**
   * Ends the response as `response.failed`, with whatever usage is known. SDKs refuse any event before
   * `response.created`, so a target failing before its first event still gets one; and they take the failed
   * response's output as final, so the items still open are in it as far as they were streamed (the client
   * has them, and pays for them): written as the done events are (laterEvent), since it repeats their text. `code` is
   * the error's (`responsesErrorCode`).
   */
  fail(message: string, usage: Json | null, code = 'server_error'): Converted {
    if (this.finished) return ''
    const created = this.started ? '' : this.start(this.id, this.model)
    this.finished = true
    const output = this.output.map((item, index) => item ?? this.cutShort(this.open.get(index)!))
    return [created, ...this.laterEvent('response.failed', { response: this.response('failed', { output, usage, error: { code, message } }) })]
  }

  /** An item still open when the response failed, as far as it got: `incomplete` (a search that never returned `failed`). */
  private cutShort(item: OpenItem): Json {
    if (item.refusal) return outputItems.refusal(item.id, item.text, 'incomplete')
    if (item.kind === 'message') return outputItems.message(item.id, item.text, 'incomplete', annotationsOf(item))
    // Its thinking is unsigned, which Claude would refuse on the next turn: only the summary, nothing to carry back.
    if (item.kind === 'reasoning') return { id: item.id, type: 'reasoning', summary: item.text ? [{ type: 'summary_text', text: item.text }] : [], status: 'incomplete' }
    if (item.kind === 'web_search_call') return outputItems.webSearchCall(item.block!.id, searchQuery(item.text), undefined, 'failed')
    return outputItems.functionCall(item.block!, item.text, 'incomplete')
  }
}
