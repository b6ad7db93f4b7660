import { responsesErrorCode } from '../../providers/overloaded'
import { AnthropicStreamUsage } from '../anthropic-stream-usage'
import { inOrder, type Converted, type StreamConverter } from '../convert-stream'
import { jsonOf, type SseEvent } from '../sse'
import { startedInput } from '../started-input'
import { incompleteReasonOf } from '../stop-reason'
import { usageOfMessage } from './message-to-response'
import { ResponseEventWriter } from './response-events'
import { FunctionNames } from './function-names'

type Json = Record<string, any>

/**
 * Anthropic Messages stream events → Responses API events: each content block becomes an output item
 * (text a message, thinking a reasoning item whose `encrypted_content` carries the block with its
 * signature, tool_use a function call), streamed by its deltas (a tool call's input given whole at its
 * start, by one delta at its end); a web search (`server_tool_use`, then its `web_search_tool_result`) a
 * `web_search_call` item, in progress, searching, completed; `message_stop` ends the response as completed
 * or incomplete (from the stop reason), an `error` event or an early end as failed.
 */
export class MessageEventsToResponseEvents implements StreamConverter {
  private malformed = false
  private readonly writer: ResponseEventWriter
  private messageId = ''
  /**
   * Anthropic content block index → output index, the thinking block being assembled, and a tool call's
   * input given whole at its start, its arguments unless deltas stream them.
   */
  private readonly items = new Map<number, { index: number; thinking?: Json; search?: true; startedArgs?: string }>()
  private readonly usage = new AnthropicStreamUsage()
  private stopReason: unknown = null

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
    const event = jsonOf<Json>(sse)
    if (!event || typeof event !== 'object') {
      this.malformed = true
      return this.writer.fail('The upstream stream sent a malformed event.', null)
    }
    switch (event.type ?? sse.event) {
      case 'message_start':
        this.messageId = String(event.message?.id ?? '')
        this.usage.start(event.message?.usage)
        return this.writer.start(`resp_${this.messageId}`, String(event.message?.model ?? ''))
      case 'content_block_start':
        return this.blockStart(Number(event.index), event.content_block ?? {})
      case 'content_block_delta':
        return this.blockDelta(Number(event.index), event.delta ?? {})
      case 'content_block_stop': {
        const item = this.items.get(Number(event.index))
        if (!item) return ''
        // A search's block holds its query; the search ends with its result block.
        if (item.search) return this.writer.searching(item.index)
        // A call's input given whole at its start is added only now: it may take the response past the bound, which ends it failed.
        const started = item.startedArgs ? this.writer.delta(item.index, item.startedArgs) : ''
        return this.writer.finished ? started : inOrder(started, this.writer.end(item.index, item.thinking))
      }
      case 'message_delta':
        this.usage.delta(event.usage)
        if (event.delta?.stop_reason) this.stopReason = event.delta.stop_reason
        return ''
      case 'message_stop':
        return this.writer.complete(usageOfMessage(this.usage.counts), incompleteReasonOf(this.stopReason))
      case 'error':
        return this.writer.fail(typeof event.error?.message === 'string' ? event.error.message : 'The upstream stream failed.', null, responsesErrorCode(event.error))
      default:
        return '' // ping, and whatever Anthropic adds later
    }
  }

  end(): Converted {
    return this.writer.finished ? '' : this.writer.fail('The upstream stream ended before it finished.', null)
  }

  private blockStart(i: number, block: Json): Converted {
    const id = `${this.messageId}_${i}`
    switch (block.type) {
      case 'text': {
        const { index, text } = this.writer.textStart(`msg_${id}`)
        this.items.set(i, { index })
        if (Array.isArray(block.citations)) for (const citation of block.citations) this.writer.cite(index, citation)
        return block.text ? inOrder(text, this.writer.delta(index, String(block.text))) : text
      }
      case 'thinking': {
        const { index, text } = this.writer.reasoningStart(`rs_${id}`)
        this.items.set(i, { index, thinking: { type: 'thinking', thinking: String(block.thinking ?? ''), signature: String(block.signature ?? '') } })
        return block.thinking ? inOrder(text, this.writer.delta(index, String(block.thinking))) : text
      }
      case 'redacted_thinking':
        return this.writer.reasoningWhole(`rs_${id}`, block)
      case 'tool_use': {
        const { index, text } = this.writer.callStart(String(block.id ?? ''), this.names.called(String(block.name ?? '')))
        this.items.set(i, { index, startedArgs: startedInput(block) })
        return text
      }
      case 'server_tool_use': {
        if (block.name !== 'web_search') return '' // only web search is offered
        const { index, text } = this.writer.searchStart(String(block.id ?? ''))
        this.items.set(i, { index, search: true })
        return inOrder(text, this.writer.delta(index, startedInput(block)))
      }
      case 'web_search_tool_result': {
        const index = this.writer.openSearch(String(block.tool_use_id ?? ''))
        return index === undefined ? '' : this.writer.end(index, block)
      }
      default:
        return ''
    }
  }

  private blockDelta(i: number, delta: Json): Converted {
    const item = this.items.get(i)
    if (!item) return ''
    switch (delta.type) {
      case 'text_delta':
        return this.writer.delta(item.index, String(delta.text ?? ''))
      case 'thinking_delta':
        if (item.thinking) item.thinking.thinking += String(delta.thinking ?? '')
        return this.writer.delta(item.index, String(delta.thinking ?? ''))
      case 'signature_delta':
        if (item.thinking) item.thinking.signature += String(delta.signature ?? '')
        return ''
      case 'input_json_delta':
        if (delta.partial_json) item.startedArgs = undefined // the deltas are the arguments
        return this.writer.delta(item.index, String(delta.partial_json ?? ''))
      case 'citations_delta':
        this.writer.cite(item.index, delta.citation)
        return ''
      default:
        return ''
    }
  }
}
