import { anthropicServerToolOf } from '../pricing/features'
import type { TokenCounts } from '../pricing/price'
import { formatSse, jsonOf, type SseEvent } from '../translate/sse'
import { anthropicUsage, withUsesShown, type AnthropicUsage } from '../translate/usage'
import { generatedBytes } from './generated-output'
import { meterStream, STREAM_ERRORS, type EventMeter, type MeterOptions } from './metered-stream'
import { redactedErrorEvent } from './provider-error-event'

interface StreamEvent {
  type?: string
  message?: { usage?: AnthropicUsage | null }
  usage?: AnthropicUsage | null
  content_block?: unknown
  delta?: unknown
}

export const anthropicStreamError = (message: string) =>
  formatSse({ type: 'error', error: { type: 'api_error', message } }, 'error')


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
    // Server tool uses, the cache writes' split, the speed, the geography and the iterations are billed too: the last statement of each wins.
    for (const key of ['cache_creation', 'server_tool_use', 'speed', 'inference_geo', 'iterations'] as const) if (u[key] != null) (this.fields as Record<string, unknown>)[key] = u[key]
    if (typeof u.input_tokens === 'number') this.hasInput = true
    if (typeof u.output_tokens === 'number') this.hasOutput = true
  }

  get counts(): TokenCounts | null {
    return this.hasInput && this.hasOutput ? anthropicUsage(this.fields) : null
  }
}

/**
 * Messages stream events: output counted from every content block and delta (text, thinking and its
 * signature, redacted thinking, tool input JSON, citations, server-tool calls and results), usage from
 * `message_start` and `message_delta`, finished at `message_stop`; server tool uses from the
 * `server_tool_use` blocks begun, for a stream cut before its usage (whose call is then aborted), and for
 * a finished one, the tools its usage does not count (code execution). An `error` the provider sends itself is
 * passed on with its credentials cut out (and not doubled by ours).
 */
class AnthropicEventMeter implements EventMeter {
  private readonly counts = new UsageAccumulator()
  deliveredOutputBytes = 0
  /** Server tool uses begun so far: what a stream cut before its usage pays for them. */
  readonly serverToolUses: Record<string, number> = {}
  finished = false
  providerFailed = false

  constructor(private readonly secrets?: () => readonly string[]) {}

  get usage(): TokenCounts | null {
    return withUsesShown(this.counts.counts, this.serverToolUses)
  }

  inspect(sse: SseEvent): string | null {
    if (sse.data === '') return sse.raw + '\n\n'
    const event = jsonOf<StreamEvent>(sse)
    if (!event || typeof event !== 'object') return null
    switch (event.type ?? sse.event) {
      case 'message_start':
        this.counts.start(event.message?.usage)
        break
      case 'content_block_start':
        this.deliveredOutputBytes += generatedBytes(event.content_block)
        this.noteServerToolUse(event.content_block)
        break
      case 'content_block_delta':
        this.deliveredOutputBytes += generatedBytes(event.delta)
        break
      case 'message_delta':
        this.counts.delta(event.usage)
        break
      case 'message_stop':
        this.finished = true
        break
      case 'error':
        this.providerFailed = true
        return redactedErrorEvent(sse, event, this.secrets)
    }
    return sse.raw + '\n\n'
  }

  /** A `server_tool_use` block begins one use of the tool it names (`anthropicServerToolOf`), as the usage would count it. */
  private noteServerToolUse(block: unknown): void {
    const tool = anthropicServerToolOf(block)
    if (tool !== undefined) this.serverToolUses[tool] = (this.serverToolUses[tool] ?? 0) + 1
  }

  errorEvent(why: keyof typeof STREAM_ERRORS): string {
    return anthropicStreamError(STREAM_ERRORS[why])
  }
}

/** Meters an Anthropic Messages SSE stream on its way to the client (see `meterStream`). */
export function meterAnthropicStream(upstream: ReadableStream<Uint8Array>, o: MeterOptions): ReadableStream<Uint8Array> {
  return meterStream(upstream, new AnthropicEventMeter(o.secrets), o)
}
