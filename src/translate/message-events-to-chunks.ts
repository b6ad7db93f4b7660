import { openAIErrorNames } from '../providers/overloaded'
import { AnthropicStreamUsage } from './anthropic-stream-usage'
import type { StreamConverter } from './convert-stream'
import { chatUsageOf } from './message-to-completion'
import { formatSse, jsonOf, type SseEvent } from './sse'
import { startedInput } from './started-input'
import { finishReasonOf } from './stop-reason'

type Json = Record<string, any>

/**
 * Anthropic Messages stream events → OpenAI `chat.completion.chunk`s: a role chunk at `message_start`,
 * a content chunk per text delta, tool-call chunks (id and name first, then argument fragments from
 * `input_json_delta`, or at the block's end the input it started with) numbered in the order the tools
 * appear; at `message_stop` a chunk with the finish reason (from the last `message_delta`), the usage chunk
 * if the client asked for it (the counts the meter bills: `AnthropicStreamUsage`), and `[DONE]`. An Anthropic `error`
 * event, or an end without `message_stop`, becomes an OpenAI error event (an overloaded provider's in OpenAI's words).
 */
export class MessageEventsToChunks implements StreamConverter {
  broken = false
  private finished = false
  private id = ''
  private model = ''
  private readonly created = Math.floor(Date.now() / 1000)
  /** Anthropic content block index → OpenAI tool call index. */
  private readonly toolIndex = new Map<number, number>()
  /** Tool calls (OpenAI index) that have had argument text: one with none must still end as `{}`. */
  private readonly toolArgsSent = new Set<number>()
  /** Tool calls (OpenAI index) whose input came whole in the block's start: their arguments if no delta comes. */
  private readonly startedArgs = new Map<number, string>()
  private readonly usage = new AnthropicStreamUsage()
  private stopReason: unknown = null

  constructor(private readonly includeUsage: boolean) {}

  push(sse: SseEvent): string {
    if (this.finished || sse.data === '') return ''
    const event = jsonOf<Json>(sse)
    if (!event || typeof event !== 'object') {
      this.broken = true
      return this.fail('The upstream stream sent a malformed event.')
    }
    switch (event.type ?? sse.event) {
      case 'message_start':
        this.id = String(event.message?.id ?? '')
        this.model = String(event.message?.model ?? '')
        this.usage.start(event.message?.usage)
        return this.chunk({ role: 'assistant', content: '' })
      case 'content_block_start':
        return this.blockStart(Number(event.index), event.content_block ?? {})
      case 'content_block_delta':
        return this.blockDelta(Number(event.index), event.delta ?? {})
      case 'content_block_stop':
        return this.blockStop(Number(event.index))
      case 'message_delta':
        this.usage.delta(event.usage)
        if (event.delta?.stop_reason) this.stopReason = event.delta.stop_reason
        return ''
      case 'message_stop':
        return this.complete()
      case 'error':
        return this.fail(typeof event.error?.message === 'string' ? event.error.message : 'The upstream stream failed.', event.error)
      default:
        return '' // ping, and whatever Anthropic adds later
    }
  }

  end(): string {
    return this.finished ? '' : this.fail('The upstream stream ended before it finished.')
  }

  private blockStart(index: number, block: Json): string {
    if (block.type === 'text') return block.text ? this.chunk({ content: block.text }) : ''
    if (block.type !== 'tool_use') return '' // thinking has no place in a chat completion
    const call = this.toolIndex.size
    this.toolIndex.set(index, call)
    const args = startedInput(block)
    if (args) this.startedArgs.set(call, args)
    return this.chunk({ tool_calls: [{ index: call, id: block.id, type: 'function', function: { name: block.name, arguments: '' } }] })
  }

  private blockDelta(index: number, delta: Json): string {
    if (delta.type === 'text_delta' && delta.text) return this.chunk({ content: delta.text })
    const call = this.toolIndex.get(index)
    if (delta.type === 'input_json_delta' && delta.partial_json && call !== undefined) {
      this.toolArgsSent.add(call)
      return this.chunk({ tool_calls: [{ index: call, function: { arguments: delta.partial_json } }] })
    }
    return ''
  }

  /**
   * A tool call that streamed no argument text (or only an empty fragment) ends with the input its block
   * started with, else `{}` (a tool with no parameters): OpenAI sends `{}` then, and SDKs parse the
   * arguments as JSON, so an empty string would fail them.
   */
  private blockStop(index: number): string {
    const call = this.toolIndex.get(index)
    if (call === undefined || this.toolArgsSent.has(call)) return ''
    this.toolArgsSent.add(call)
    return this.chunk({ tool_calls: [{ index: call, function: { arguments: this.startedArgs.get(call) ?? '{}' } }] })
  }

  private complete(): string {
    this.finished = true
    let out = this.chunk({}, finishReasonOf(this.stopReason, this.toolIndex.size > 0))
    if (this.includeUsage) out += this.frame([], chatUsageOf(this.usage.counts))
    return out + 'data: [DONE]\n\n'
  }

  /** Ends the stream with an OpenAI error event; the provider's `error`, when it sent one, says which (`openAIErrorNames`). */
  private fail(message: string, error?: unknown): string {
    this.finished = true
    return formatSse({ error: { message, ...openAIErrorNames(error), param: null } })
  }

  private chunk(delta: Json, finishReason: string | null = null): string {
    return this.frame([{ index: 0, delta, logprobs: null, finish_reason: finishReason }])
  }

  private frame(choices: Json[], usage?: Json): string {
    const chunk: Json = { id: this.id, object: 'chat.completion.chunk', created: this.created, model: this.model, choices }
    if (usage) chunk.usage = usage
    return formatSse(chunk)
  }
}
