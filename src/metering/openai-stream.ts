import type { TokenCounts } from '../pricing/price'
import { formatSse, jsonOf, type SseEvent } from '../translate/sse'
import { openAIUsage, type OpenAIUsage } from '../translate/usage'
import { EventTemplate } from './event-template'
import { audioOutputTokens, generatedBytes } from './generated-output'
import { meterStream, STREAM_ERRORS, type EventMeter, type MeterOptions } from './metered-stream'

interface ChatChunk {
  choices?: Array<{ delta?: { audio?: unknown } | null }>
  usage?: OpenAIUsage | null
  service_tier?: unknown
  error?: unknown
}

/** UTF-8 bytes of the output in every choice's delta. */
function deltaBytes(chunk: ChatChunk): number {
  let n = 0
  for (const choice of chunk.choices ?? []) {
    const d = choice?.delta
    if (d && typeof d === 'object') n += generatedBytes(d, 'audio') + audioOutputTokens(d.audio)
  }
  return n
}

/** A chunk that only streams output (see EventTemplate). */
function plainChunkBytes(data: string): number | null {
  let chunk: ChatChunk
  try {
    chunk = JSON.parse(data)
  } catch {
    return null
  }
  return chunk && typeof chunk === 'object' && !chunk.error && !chunk.usage ? deltaBytes(chunk) : null
}

/**
 * Chat completion chunks: output counted from the deltas (every kind: content, refusal, reasoning, tool
 * and legacy function calls, audio), usage from the chunk OpenAI sends last when asked
 * (`stream_options.include_usage`, which the gateway always sets upstream). That chunk is dropped unless
 * the client asked for it too.
 */
class OpenAIChunkMeter implements EventMeter {
  usage: TokenCounts | null = null
  deliveredOutputBytes = 0
  providerFailed = false
  private sawDone = false
  private readonly template = new EventTemplate(['"content":'], plainChunkBytes)

  constructor(private readonly passUsage: boolean) {}

  get finished(): boolean {
    return this.sawDone || this.usage !== null
  }

  inspect(event: SseEvent): string | null {
    const asIs = event.raw + '\n\n'
    if (event.data === '') return asIs
    if (event.data === '[DONE]') {
      this.sawDone = true
      return asIs
    }
    const templated = this.template.match(event)
    if (templated !== undefined) {
      this.deliveredOutputBytes += templated
      return asIs
    }
    const chunk = jsonOf<ChatChunk>(event)
    if (!chunk || typeof chunk !== 'object') return null
    if (chunk.error) this.providerFailed = true
    const bytes = deltaBytes(chunk)
    this.deliveredOutputBytes += bytes
    if (!chunk.error && !chunk.usage) this.template.learn(event, bytes)
    if (chunk.usage) {
      this.usage = openAIUsage(chunk.usage, chunk.service_tier)
      if (!this.passUsage && (!chunk.choices || chunk.choices.length === 0)) return ''
    }
    return asIs
  }

  errorEvent(why: keyof typeof STREAM_ERRORS): string {
    return formatSse({ error: { message: STREAM_ERRORS[why], type: 'api_error', code: 'upstream_error' } })
  }
}

/** Meters an OpenAI-format SSE stream on its way to the client (see `meterStream`). */
export function meterOpenAIStream(upstream: ReadableStream<Uint8Array>, o: MeterOptions & { passUsage: boolean }): ReadableStream<Uint8Array> {
  return meterStream(upstream, new OpenAIChunkMeter(o.passUsage), o)
}
