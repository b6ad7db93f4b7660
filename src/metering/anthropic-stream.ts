import { anthropicServerToolOf, toolCounts } from '../pricing/features'
import type { TokenCounts } from '../pricing/price'
import { formatSse, jsonOf, type SseEvent } from '../translate/sse'
import { anthropicUsage, withUsesShown, type AnthropicUsage } from '../translate/usage'
import { generatedBytes } from './generated-output'
import { KEEP_ALIVE, meterStream, STREAM_ERRORS, type EventMeter, type MeterOptions } from './metered-stream'
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
 * writes), `message_delta` the output count. Its counts are cumulative and may restate the input side:
 * they can grow what was stated before, never shrink it, so each count is the largest stated (SGLang sent
 * `input_tokens: 0` in `message_delta`, sgl-project/sglang#20830: the prompt must not go free).
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
    const fields = this.fields as Record<string, unknown>
    for (const key of ['input_tokens', 'cache_read_input_tokens', 'cache_creation_input_tokens', 'output_tokens'] as const)
      fields[key] = larger(fields[key], u[key])
    // The cache writes' split and the server tool uses are counts too, each the largest stated.
    for (const key of ['cache_creation', 'server_tool_use'] as const) {
      const stated = u[key]
      if (!stated || typeof stated !== 'object') continue
      const before = fields[key]
      const held: Record<string, unknown> = before && typeof before === 'object' ? { ...before } : {}
      for (const [name, n] of Object.entries(stated)) held[name] = larger(held[name], n)
      fields[key] = held
    }
    // The speed, the geography and the iterations are billed too: the last statement of each wins.
    for (const key of ['speed', 'inference_geo', 'iterations'] as const) if (u[key] != null) fields[key] = u[key]
    if (typeof u.input_tokens === 'number') this.hasInput = true
    if (typeof u.output_tokens === 'number') this.hasOutput = true
  }

  /** The output count stated so far, if any. */
  get output(): number | undefined {
    return typeof this.fields.output_tokens === 'number' ? this.fields.output_tokens : undefined
  }

  get counts(): TokenCounts | null {
    return this.hasInput && this.hasOutput ? anthropicUsage(this.fields) : null
  }
}

/** The larger of a count held and one stated; a count not stated as a number leaves the one held. */
const larger = (held: unknown, stated: unknown): unknown =>
  typeof stated !== 'number' ? held : typeof held === 'number' ? Math.max(held, stated) : stated

/**
 * Messages stream events: output counted from every content block and delta (text, thinking and its
 * signature, redacted thinking, tool input JSON, citations, server-tool calls and results), usage from
 * `message_start` and `message_delta`, finished at `message_stop` (a `[DONE]` dropped); server tool uses from the
 * `server_tool_use` blocks begun, for a stream cut before its usage (whose call is then aborted), and for
 * a finished one, the tools its usage does not count (code execution). An `error` the provider sends itself is
 * passed on with its credentials cut out (and not doubled by ours).
 */
class AnthropicEventMeter implements EventMeter {
  private readonly counts = new UsageAccumulator()
  deliveredOutputBytes = 0
  /** Server tool uses begun so far: what a stream cut before its usage pays for them. */
  readonly serverToolUses: Record<string, number> = toolCounts()
  finished = false
  providerFailed = false
  private outputAfterUsage = false

  constructor(private readonly secrets?: () => readonly string[]) {}

  /**
   * A `message_delta`'s usage counts the output generated up to it; a stream may carry more than one. So
   * the usage stands for the stream only if no output came after the last one (as in the OpenAI meter);
   * otherwise the stream is billed as one without usage, never from the smaller count.
   */
  get usage(): TokenCounts | null {
    return this.outputAfterUsage ? null : withUsesShown(this.counts.counts, this.serverToolUses)
  }

  inspect(sse: SseEvent): string | null {
    if (sse.data === '') return KEEP_ALIVE
    // OpenAI's end marker, which some Anthropic-compatible servers append after message_stop (vLLM did,
    // vllm-project/vllm#37510): no Anthropic client expects it. It finishes nothing: only message_stop does.
    if (sse.data === '[DONE]') return ''
    const event = jsonOf<StreamEvent>(sse)
    // After message_stop the answer and its usage are complete, so a nonsensical trailer is dropped, not a failure.
    if (!event || typeof event !== 'object') return this.finished ? '' : null
    switch (event.type ?? sse.event) {
      case 'message_start':
        this.counts.start(event.message?.usage)
        break
      case 'content_block_start':
        this.noteOutput(generatedBytes(event.content_block))
        this.noteServerToolUse(event.content_block)
        break
      case 'content_block_delta':
        this.noteOutput(generatedBytes(event.delta))
        break
      case 'message_delta': {
        // A usage accounts for the output delivered since the last one only if it counts more of it (the same
        // statement repeated, a proxy's, does not), as in the chat and Responses meters.
        const held = this.counts.output
        this.counts.delta(event.usage)
        const stated = event.usage?.output_tokens
        if (typeof stated === 'number' && (held === undefined || stated > held)) this.outputAfterUsage = false
        break
      }
      case 'message_stop':
        this.finished = true
        break
      case 'error':
        this.providerFailed = true
        return redactedErrorEvent(sse, event, this.secrets)
    }
    return sse.raw + '\n\n'
  }

  private noteOutput(bytes: number): void {
    this.deliveredOutputBytes += bytes
    if (bytes > 0) this.outputAfterUsage = true
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
