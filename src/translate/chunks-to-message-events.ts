import type { TokenCounts } from '../pricing/price'
import { anthropicErrorType } from '../providers/overloaded'
import { countsSoFar } from './chunk-counts'
import { messageUsageOf } from './completion-to-message'
import { contentText } from './content-text'
import type { StreamConverter } from './convert-stream'
import { formatSse, jsonOf, MAX_EVENT_CHARS, type SseEvent } from './sse'
import { stopReasonOf } from './stop-reason'
import { StreamedArguments } from './streamed-arguments'
import { opensObject, toolInputOf } from './tool-arguments'
import { toolCallId } from './tool-call-id'
import { ToolCallKeys } from './tool-call-keys'

type Json = Record<string, any>

/** A tool call of the answer and its `tool_use` block. */
interface ToolCall {
  id: string
  name: string
  /** Whether its argument text is yet whole: what its open block has had, or while it waits for its block, what it will start with. */
  args: StreamedArguments
  /**
   * The argument text it must still write: all of it while it waits for its block, or while its block holds it (not
   * yet known to open an object, or known not to). A streaming block's text is passed on as it comes, never kept.
   */
  kept: string
  /** Its content block, once opened. */
  block?: number
  /** Whether its open block streams its argument text as it comes (the text opens an object): unknown while the text is all whitespace. */
  streaming?: boolean
}

/**
 * OpenAI `chat.completion.chunk`s → Anthropic Messages stream events: `message_start` at the first chunk,
 * a text block around the content deltas and a `tool_use` block per tool call (its argument fragments as
 * `input_json_delta`), each closed when the next one opens or a finish reason comes (`openWaiting` says when
 * a tool_use block gives way to the next call's); `message_delta`
 * (stop reason and usage) and `message_stop` when the stream is done; an `error` event when the provider reports
 * one, on the chunk or on the first choice (`overloaded_error` for an overloaded provider's). Usage comes last in an OpenAI
 * stream, so `message_start` reports 0 tokens and `message_delta` carries the counts billed (`countsSoFar`), input included.
 * Only the first choice is translated: Anthropic has no `n`.
 */
export class ChunksToMessageEvents implements StreamConverter {
  broken = false
  private started = false
  private finished = false
  /** The message's id: the first chunk's. */
  private id = ''
  private open: number | null = null
  private openKind: 'text' | 'tool' | null = null
  private blocks = 0
  /** The answer's tool calls, by `ToolCallKeys`. */
  private readonly tools = new Map<string, ToolCall>()
  private readonly toolKeys = new ToolCallKeys()
  /** Calls whose block is not open yet, in the order they came. */
  private readonly waiting: ToolCall[] = []
  private openTool: ToolCall | null = null
  /** Text that came while the open tool_use block's input was not yet whole: its own block once that one closes. */
  private heldText = ''
  /** The finish reason, mapped at the end: whether the message had tool calls decides it too. */
  private finishReason: unknown = null
  private counts: TokenCounts | null = null

  push(sse: SseEvent): string {
    if (this.finished || sse.data === '') return ''
    if (sse.data === '[DONE]') return this.complete()
    const chunk = jsonOf<Json>(sse)
    if (!chunk || typeof chunk !== 'object') {
      this.broken = true
      return this.fail('The upstream stream sent a malformed event.')
    }
    if (chunk.error) return this.failWith(chunk.error)

    let out = this.start(chunk)
    this.counts = countsSoFar(this.counts, chunk)
    const choice = Array.isArray(chunk.choices) ? chunk.choices.find((c: Json) => (c?.index ?? 0) === 0) : undefined
    const delta: Json = choice?.delta ?? {}
    for (const text of [contentText(delta.content), delta.refusal]) if (typeof text === 'string' && text !== '') {
      out += this.text(text)
      if (this.finished) return out
    }
    if (Array.isArray(delta.tool_calls)) for (const call of delta.tool_calls) {
      out += this.toolCall(call ?? {})
      if (this.finished) return out
    }
    // OpenRouter's failure mid-generation is an error on the choice (`finish_reason: "error"`), then `[DONE]`.
    if (choice?.error != null) return out + this.failWith(choice.error)
    if (choice?.finish_reason) {
      out += this.closeBlocks()
      this.finishReason = choice.finish_reason
    }
    return out
  }

  /** Some OpenAI-compatible servers end without `[DONE]`; a finish reason is then enough to call it done. */
  end(): string {
    if (this.finished) return ''
    return this.finishReason ? this.complete() : this.fail('The upstream stream ended before it finished.')
  }

  private start(chunk: Json): string {
    if (this.started) return ''
    this.started = true
    this.id = String(chunk.id ?? '')
    const message = {
      id: this.id, type: 'message', role: 'assistant', model: String(chunk.model ?? ''), content: [],
      stop_reason: null, stop_sequence: null, usage: { input_tokens: 0, output_tokens: 0 },
    }
    return this.event('message_start', { message })
  }

  /**
   * A text delta. While a call's input is not yet a whole object, the text is held: closing its block for it would
   * cut the input (an Anthropic block takes nothing after its stop), and a server's tool parser may pass the model's
   * whitespace or prose around a call's arguments on as content. The calls waiting get their blocks first, so one
   * whose input is not whole yet is open (and holds the text) instead of closed with part of it.
   */
  private text(text: string): string {
    let out = this.openWaiting()
    if (this.openTool !== null && !this.openTool.args.isWholeObject()) {
      this.heldText += text
      return this.heldText.length > MAX_EVENT_CHARS ? out + this.keptTooLong('text beside a tool call') : out
    }
    if (this.openKind !== 'text') {
      out += this.closeBlocks() + this.openBlock('text', { type: 'text', text: '' })
    }
    return out + this.event('content_block_delta', { index: this.open, delta: { type: 'text_delta', text } })
  }

  private toolCall(call: Json): string {
    const key = this.toolKeys.keyOf(call)
    let tool = this.tools.get(key)
    if (tool === undefined) {
      tool = { id: toolCallId(call.id, 'toolu', this.id, this.tools.size), name: call.function?.name ?? '', args: new StreamedArguments(), kept: '' }
      this.tools.set(key, tool)
      this.waiting.push(tool)
    }
    let out = this.openWaiting()
    const args = call.function?.arguments
    if (typeof args !== 'string' || args === '') return out
    if (tool === this.openTool) out += this.argsDelta(tool, args)
    else if (tool.block === undefined) {
      tool.args.append(args)
      tool.kept += args
    }
    // Otherwise its block is closed (its input was whole, or text came after it): an Anthropic block takes nothing more.
    return tool.kept.length > MAX_EVENT_CHARS ? out + this.keptTooLong('tool call arguments') : out
  }

  /**
   * Opens the blocks of the calls waiting, in order, while the open block may close. An Anthropic block is
   * complete at its `content_block_stop`, never written to again: so a tool_use block stays open until its input
   * is a whole JSON object, and another call's arguments (a server may interleave them with its own) wait for
   * their block meantime. Calls streamed one after the other (OpenAI's) are streamed as they come.
   */
  private openWaiting(): string {
    let out = ''
    while (this.waiting.length > 0 && (this.openTool === null || this.openTool.args.isWholeObject()))
      out += this.closeBlock() + this.openToolBlock(this.waiting.shift()!)
    return out
  }

  /** Closes the open block, then gives each call still waiting its block, whole. */
  private closeBlocks(): string {
    let out = this.closeBlock()
    while (this.waiting.length > 0) out += this.openToolBlock(this.waiting.shift()!) + this.closeBlock()
    return out
  }

  private openToolBlock(tool: ToolCall): string {
    const out = this.openBlock('tool', { type: 'tool_use', id: tool.id, name: tool.name, input: {} })
    tool.block = this.open!
    this.openTool = tool
    const waited = tool.kept
    tool.kept = ''
    tool.args = new StreamedArguments()
    return waited === '' ? out : out + this.argsDelta(tool, waited)
  }

  /**
   * More argument text of the open call. Text that opens an object is streamed as it comes; any other (Ollama's
   * no-argument `null`) is held until the block closes (`heldInput`): Anthropic's input is always an object.
   */
  private argsDelta(tool: ToolCall, args: string): string {
    tool.args.append(args)
    if (tool.streaming) return this.inputDelta(tool, args)
    // Until now the text was all whitespace (this delta decides), or it was found not to open an object.
    tool.kept += args
    tool.streaming ??= opensObject(args)
    if (!tool.streaming) return ''
    const text = tool.kept
    tool.kept = ''
    return this.inputDelta(tool, text)
  }

  /** A held call's input, whole: nothing for none (the block's `{}`), else the object its text makes. */
  private heldInput(tool: ToolCall): string {
    const input = toolInputOf(tool.kept)
    return Object.keys(input).length === 0 ? '' : this.inputDelta(tool, JSON.stringify(input))
  }

  private inputDelta(tool: ToolCall, partialJson: string): string {
    return this.event('content_block_delta', { index: tool.block, delta: { type: 'input_json_delta', partial_json: partialJson } })
  }

  private openBlock(kind: 'text' | 'tool', contentBlock: Json): string {
    this.open = this.blocks++
    this.openKind = kind
    return this.event('content_block_start', { index: this.open, content_block: contentBlock })
  }

  /** Closes the open block; after a tool_use block, the text held while it was open follows as a block of its own. */
  private closeBlock(): string {
    if (this.open === null) return ''
    const held = this.openTool && !this.openTool.streaming ? this.heldInput(this.openTool) : ''
    let out = held + this.event('content_block_stop', { index: this.open })
    this.open = null
    this.openKind = null
    this.openTool = null
    if (this.heldText !== '') {
      out += this.openBlock('text', { type: 'text', text: '' }) + this.event('content_block_delta', { index: this.open, delta: { type: 'text_delta', text: this.heldText } })
      this.heldText = ''
      out += this.closeBlock()
    }
    return out
  }

  private complete(): string {
    const out = this.start({}) + this.closeBlocks()
    this.finished = true
    return out +
      this.event('message_delta', { delta: { stop_reason: stopReasonOf(this.finishReason, this.tools.size > 0), stop_sequence: null }, usage: messageUsageOf(this.counts) }) +
      this.event('message_stop', {})
  }

  /**
   * Text kept past the event cap: it would go out as one event (a waiting call's arguments at its block's start, a
   * held call's at its close, text held beside an open call when that call's block closes), and keeping it grows
   * memory without bound. The stream stops as at an event too long.
   */
  private keptTooLong(what: string): string {
    this.broken = true
    return this.fail(`The upstream stream sent ${what} too long to hold.`)
  }

  /** The provider's error (already cut of credentials by the meter), as the stream's end. */
  private failWith(error: Json): string {
    return this.fail(typeof error?.message === 'string' ? error.message : 'The upstream stream failed.', anthropicErrorType(error))
  }

  private fail(message: string, type = 'api_error'): string {
    this.finished = true
    return formatSse({ type: 'error', error: { type, message } }, 'error')
  }

  private event(type: string, data: Json): string {
    return formatSse({ type, ...data }, type)
  }
}
