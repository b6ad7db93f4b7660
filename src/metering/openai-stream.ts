import type { TokenCounts } from '../pricing/price'
import type { UpstreamSignal } from '../providers/upstream'

export type StreamEnd =
  | 'done' //      the provider finished the stream
  | 'truncated' // the body ended without [DONE]
  | 'failed' //    reading from the provider failed (reset, idle timeout)
  | 'cancelled' // our client went away

export interface StreamFacts {
  end: StreamEnd
  usage: TokenCounts | null
  /** UTF-8 bytes of generated text and tool arguments passed to the client: an upper bound on output tokens. */
  deliveredOutputBytes: number
}

export interface MeterOptions {
  /** The client asked for usage (`stream_options.include_usage`): pass the usage chunk on. */
  passUsage: boolean
  idleTimeoutMs: number
  signal: UpstreamSignal
  /** Called exactly once, however the stream ends. */
  onEnd: (facts: StreamFacts) => void
}

interface ChatChunk {
  choices?: Array<{ delta?: { content?: unknown; refusal?: unknown; reasoning_content?: unknown; tool_calls?: Array<{ function?: { arguments?: unknown } }> } }>
  usage?: { prompt_tokens?: number; completion_tokens?: number; prompt_tokens_details?: { cached_tokens?: number } | null } | null
}

const encoder = new TextEncoder()
const byteLength = (v: unknown) => (typeof v === 'string' ? Buffer.byteLength(v, 'utf8') : 0)

const STREAM_FAILED_EVENT =
  'data: {"error":{"message":"The upstream stream failed before it finished.","type":"api_error","code":"upstream_error"}}\n\n'

/**
 * Passes an OpenAI-format SSE stream through event by event (never the whole answer in memory), reading
 * usage and counting delivered output as it goes. The usage chunk we always ask for is dropped unless the
 * client asked for it too. A client that goes away aborts the upstream call.
 */
export function meterOpenAIStream(upstream: ReadableStream<Uint8Array>, o: MeterOptions): ReadableStream<Uint8Array> {
  const reader = upstream.getReader()
  const decoder = new TextDecoder()
  let pending = ''
  let usage: TokenCounts | null = null
  let delivered = 0
  let sawDone = false
  let heldCarriageReturn = false
  let ended = false
  const idle = setTimeout(() => o.signal.abortIdle(), o.idleTimeoutMs)

  const finish = (end: StreamEnd) => {
    if (ended) return
    ended = true
    clearTimeout(idle)
    o.signal.dispose()
    o.onEnd({ end, usage, deliveredOutputBytes: delivered })
  }

  /** Returns the event as it should reach the client ('' to drop it). */
  const inspect = (event: string): string => {
    let data = ''
    for (const line of event.split('\n')) if (line.startsWith('data:')) data += line.slice(line.charAt(5) === ' ' ? 6 : 5)
    if (data === '') return event + '\n\n'
    if (data === '[DONE]') {
      sawDone = true
      return event + '\n\n'
    }
    let chunk: ChatChunk
    try {
      chunk = JSON.parse(data) as ChatChunk
    } catch {
      return event + '\n\n' // not ours to fix; without usage the hold's estimate is charged
    }
    if (chunk.choices) {
      for (const choice of chunk.choices) {
        const d = choice.delta
        if (!d) continue
        delivered += byteLength(d.content) + byteLength(d.refusal) + byteLength(d.reasoning_content)
        if (d.tool_calls) for (const call of d.tool_calls) delivered += byteLength(call.function?.arguments)
      }
    }
    if (chunk.usage) {
      usage = {
        promptTokens: chunk.usage.prompt_tokens ?? 0,
        completionTokens: chunk.usage.completion_tokens ?? 0,
        cachedTokens: chunk.usage.prompt_tokens_details?.cached_tokens ?? 0,
      }
      if (!o.passUsage && (!chunk.choices || chunk.choices.length === 0)) return ''
    }
    return event + '\n\n'
  }

  /** Complete events in the buffer, inspected; what is left waits for more bytes. */
  const takeEvents = (final: boolean): string => {
    if (pending.includes('\r')) {
      // A trailing \r may be the first half of a \r\n split across reads: keep it until the next read.
      const held = !final && pending.endsWith('\r')
      pending = (held ? pending.slice(0, -1) : pending).replace(/\r\n?/g, '\n')
      if (held) heldCarriageReturn = true
    }
    let out = ''
    let start = 0
    for (let end = pending.indexOf('\n\n'); end !== -1; end = pending.indexOf('\n\n', start)) {
      out += inspect(pending.slice(start, end))
      start = end + 2
    }
    pending = pending.slice(start)
    if (final && pending.trim() !== '') {
      out += inspect(pending.replace(/\n+$/, ''))
      pending = ''
    }
    return out
  }

  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          for (;;) {
            const { value, done } = await reader.read()
            if (done) {
              pending += (heldCarriageReturn ? '\r' : '') + decoder.decode()
              const rest = takeEvents(true)
              if (rest) controller.enqueue(encoder.encode(rest))
              const end = sawDone || usage ? 'done' : 'truncated'
              finish(end)
              // Cut off without [DONE]: say so, or the client takes a partial answer for a whole one.
              if (end === 'truncated') controller.enqueue(encoder.encode(STREAM_FAILED_EVENT))
              controller.close()
              return
            }
            idle.refresh()
            if (heldCarriageReturn) {
              pending += '\r'
              heldCarriageReturn = false
            }
            pending += decoder.decode(value, { stream: true })
            const out = takeEvents(false)
            if (out) {
              controller.enqueue(encoder.encode(out))
              return
            }
          }
        } catch {
          if (ended) return // cancelled by our client while a read was in flight
          finish('failed')
          controller.enqueue(encoder.encode(STREAM_FAILED_EVENT))
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
