import type { TokenCounts } from '../pricing/price'
import { formatSse, jsonOf, SseParser, type SseEvent } from '../translate/sse'
import { anthropicUsage, type AnthropicUsage } from '../translate/usage'
import type { MeterOptions, StreamEnd } from './openai-stream'

export type AnthropicMeterOptions = Omit<MeterOptions, 'passUsage'>

interface StreamEvent {
  type?: string
  message?: { usage?: AnthropicUsage | null }
  usage?: AnthropicUsage | null
  content_block?: { type?: string; text?: unknown }
  delta?: { type?: string; text?: unknown; partial_json?: unknown; thinking?: unknown }
}

const encoder = new TextEncoder()
const byteLength = (v: unknown) => (typeof v === 'string' ? Buffer.byteLength(v, 'utf8') : 0)

export const anthropicStreamError = (message: string) =>
  formatSse({ type: 'error', error: { type: 'api_error', message } }, 'error')

const FAILED = anthropicStreamError('The upstream stream failed before it finished.')
const TRUNCATED = anthropicStreamError('The upstream stream ended before it finished.')
const MALFORMED = anthropicStreamError('The upstream stream sent a malformed event.')

/**
 * Usage arrives in two halves: `message_start` carries the input side (plain, cache reads, cache
 * writes), `message_delta` the output count (cumulative; it may restate the input side, which then wins).
 * Only both halves together are a usage: before the delta, the output is not known.
 */
class UsageAccumulator {
  private fields: AnthropicUsage = {}
  private hasInput = false
  private hasOutput = false

  start(u: AnthropicUsage | null | undefined): void {
    if (!u) return
    this.fields = { ...u }
    this.hasInput = typeof u.input_tokens === 'number'
  }

  delta(u: AnthropicUsage | null | undefined): void {
    if (!u) return
    for (const key of ['input_tokens', 'cache_read_input_tokens', 'cache_creation_input_tokens', 'output_tokens'] as const)
      if (typeof u[key] === 'number') this.fields[key] = u[key]
    if (typeof u.input_tokens === 'number') this.hasInput = true
    if (typeof u.output_tokens === 'number') this.hasOutput = true
  }

  get counts(): TokenCounts | null {
    return this.hasInput && this.hasOutput ? anthropicUsage(this.fields) : null
  }
}

/**
 * The Anthropic counterpart of `meterOpenAIStream`: passes a Messages SSE stream through event by event,
 * reading usage and counting delivered output. A stream that fails, ends without `message_stop` or sends
 * an event that is not JSON gets an Anthropic `error` event, so the client learns the answer is incomplete
 * (an `error` the provider sent itself is passed on as it is, and not doubled).
 */
export function meterAnthropicStream(upstream: ReadableStream<Uint8Array>, o: AnthropicMeterOptions): ReadableStream<Uint8Array> {
  const reader = upstream.getReader()
  const parser = new SseParser()
  const usage = new UsageAccumulator()
  let delivered = 0
  let sawStop = false
  let sawError = false
  let malformed = false
  let ended = false
  const idle = setTimeout(() => o.signal.abortIdle(), o.idleTimeoutMs)

  const finish = (end: StreamEnd) => {
    if (ended) return
    ended = true
    clearTimeout(idle)
    o.signal.dispose()
    o.onEnd({ end, usage: usage.counts, deliveredOutputBytes: delivered })
  }

  /** Returns the event as it should reach the client. */
  const inspect = (sse: SseEvent): string => {
    if (sse.data === '') return sse.raw + '\n\n'
    const event = jsonOf<StreamEvent>(sse)
    if (!event || typeof event !== 'object') {
      malformed = true
      return ''
    }
    switch (event.type ?? sse.event) {
      case 'message_start':
        usage.start(event.message?.usage)
        break
      case 'content_block_start':
        delivered += byteLength(event.content_block?.text)
        break
      case 'content_block_delta':
        delivered += byteLength(event.delta?.text) + byteLength(event.delta?.partial_json) + byteLength(event.delta?.thinking)
        break
      case 'message_delta':
        usage.delta(event.usage)
        break
      case 'message_stop':
        sawStop = true
        break
      case 'error':
        sawError = true
        break
    }
    return sse.raw + '\n\n'
  }

  const passOn = (events: SseEvent[]): string => {
    let out = ''
    for (const event of events) {
      out += inspect(event)
      if (malformed) break
    }
    return out
  }

  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          for (;;) {
            const { value, done } = await reader.read()
            const out = done ? passOn(parser.end()) : passOn(parser.push(value))
            if (malformed) {
              reader.cancel().catch(() => {})
              finish('failed')
              controller.enqueue(encoder.encode(out + MALFORMED))
              controller.close()
              return
            }
            if (done) {
              const end: StreamEnd = sawStop ? 'done' : sawError ? 'failed' : 'truncated'
              finish(end)
              const rest = end === 'truncated' ? out + TRUNCATED : out
              if (rest) controller.enqueue(encoder.encode(rest))
              controller.close()
              return
            }
            idle.refresh()
            if (out) {
              controller.enqueue(encoder.encode(out))
              return
            }
          }
        } catch {
          if (ended) return // cancelled by our client while a read was in flight
          finish('failed')
          controller.enqueue(encoder.encode(FAILED))
          controller.close()
        }
      },
      cancel() {
        o.signal.abortClient()
        reader.cancel().catch(() => {})
        finish('cancelled')
      },
    },
    { highWaterMark: 0 },
  )
}
