import type { TokenCounts } from '../../pricing/price'
import { responsesErrorCode } from '../../providers/overloaded'
import { countsSoFar } from '../chunk-counts'
import { contentText } from '../content-text'
import { inOrder, type Converted, type StreamConverter } from '../convert-stream'
import { jsonOf, type SseEvent } from '../sse'
import { incompleteReasonOf } from '../stop-reason'
import { toolCallId } from '../tool-call-id'
import { ToolCallKeys } from '../tool-call-keys'
import { usageOfCompletion } from './completion-to-response'
import { ResponseEventWriter } from './response-events'
import { FunctionNames } from './function-names'

type Json = Record<string, any>

/**
 * Chat completion chunks → Responses API events: the text a message item, a refusal a message item with a
 * refusal part, each tool call (`ToolCallKeys`) a function call, streamed by their deltas; `[DONE]` ends the
 * response with the finish reason and the counts billed (`countsSoFar`), an error (on the chunk or on a choice) as failed.
 */
export class ChunksToResponseEvents implements StreamConverter {
  private malformed = false
  private readonly writer: ResponseEventWriter
  private started = false
  private text: number | undefined
  private refusal: number | undefined
  /** Chat tool call (`ToolCallKeys`) → output index. */
  private readonly calls = new Map<string, number>()
  private readonly callKeys = new ToolCallKeys()
  private finish: unknown = null
  private counts: TokenCounts | null = null

  /** `names`: the client's names of the functions offered (a namespaced one's name and namespace). */
  constructor(echo: Json, private readonly names = new FunctionNames()) {
    this.writer = new ResponseEventWriter(echo)
  }

  /** At an event it cannot read, or once the response outgrew what the writer translates (it ended failed). */
  get broken(): boolean {
    return this.malformed || this.writer.outgrown
  }

  push(sse: SseEvent): Converted {
    if (this.writer.finished || sse.data === '') return ''
    if (sse.data === '[DONE]') return [this.start('', ''), ...this.writer.complete(usageOfCompletion(this.counts), incompleteReasonOf(this.finish))]
    const chunk = jsonOf<Json>(sse)
    if (!chunk || typeof chunk !== 'object') {
      this.malformed = true
      return this.writer.fail('The upstream stream sent a malformed event.', null)
    }
    if (chunk.error) return this.failWith(chunk.error)
    const out: Converted[] = [this.start(String(chunk.id ?? ''), String(chunk.model ?? ''))]
    this.counts = countsSoFar(this.counts, chunk)
    for (const choice of Array.isArray(chunk.choices) ? chunk.choices : []) {
      out.push(this.choice(chunk.id, choice))
      if (this.writer.finished) break
    }
    return inOrder(...out)
  }

  /**
   * One choice's text, refusal and tool calls, in turn, until the response ends: past the writer's bound it has
   * failed, and nothing may follow its `response.failed` (each later delta would fail it again, repeating the whole output).
   */
  private choice(chunkId: unknown, choice: Json): Converted {
    const delta = choice?.delta ?? {}
    const out: Converted[] = []
    const text = contentText(delta.content)
    if (text) {
      if (this.text === undefined) {
        const opened = this.writer.textStart(`msg_${chunkId}`)
        this.text = opened.index
        out.push(opened.text)
      }
      out.push(this.writer.delta(this.text, text))
      if (this.writer.finished) return inOrder(...out)
    }
    if (typeof delta.refusal === 'string' && delta.refusal) {
      if (this.refusal === undefined) {
        const opened = this.writer.refusalStart(`msg_${chunkId}_refusal`)
        this.refusal = opened.index
        out.push(opened.text)
      }
      out.push(this.writer.delta(this.refusal, delta.refusal))
      if (this.writer.finished) return inOrder(...out)
    }
    for (const call of Array.isArray(delta.tool_calls) ? (delta.tool_calls as Json[]).map((c) => c ?? {}) : []) {
      const key = this.callKeys.keyOf(call)
      let index = this.calls.get(key)
      if (index === undefined) {
        const opened = this.writer.callStart(toolCallId(call.id, 'call', chunkId, this.calls.size), this.names.called(String(call.function?.name ?? '')))
        index = opened.index
        this.calls.set(key, index)
        out.push(opened.text)
      }
      if (typeof call.function?.arguments === 'string') out.push(this.writer.delta(index, call.function.arguments))
      if (this.writer.finished) return inOrder(...out)
    }
    // OpenRouter's failure mid-generation is an error on the choice (`finish_reason: "error"`), then `[DONE]`.
    if (choice?.error != null) out.push(this.failWith(choice.error))
    else if (choice?.finish_reason) this.finish = choice.finish_reason
    return inOrder(...out)
  }

  /** Some servers end a finished stream without `[DONE]`: a finish reason and usage are a finished answer too. */
  end(): Converted {
    if (this.writer.finished) return ''
    if (this.finish !== null && this.counts !== null) return [this.start('', ''), ...this.writer.complete(usageOfCompletion(this.counts), incompleteReasonOf(this.finish))]
    return inOrder(this.start('', ''), this.writer.fail('The upstream stream ended before it finished.', null))
  }

  /** The provider's error (already cut of credentials by the meter), as the response's failure. */
  private failWith(error: Json): Converted {
    return inOrder(this.start('', ''), this.writer.fail(String(error?.message ?? 'The upstream stream failed.'), null, responsesErrorCode(error)))
  }

  private start(id: string, model: string): string {
    if (this.started) return ''
    this.started = true
    return this.writer.start(`resp_${id}`, model)
  }
}
