import type { TokenCounts } from '../pricing/price'
import { formatSse, jsonOf, type SseEvent } from '../translate/sse'
import { chunkUsage, openAIUsage, reportedTier, type OpenAIUsage } from '../translate/usage'
import { audioAnswerOf } from '../translate/chat-audio'
import { audioOutputTokens, generatedBytes } from './generated-output'
import { largerCounts } from './larger-counts'
import { KEEP_ALIVE, meterStream, STREAM_ERRORS, type EventMeter, type MeteredStream, type MeterOptions, type Passed } from './metered-stream'
import { redactedErrorEvent } from './provider-error-event'

interface ChatChunk {
  choices?: Array<{ delta?: { audio?: unknown } | null; error?: unknown; usage?: OpenAIUsage | null } | null>
  usage?: OpenAIUsage | null
  service_tier?: unknown
  error?: unknown
}

/**
 * Chat completion chunks: output counted from the deltas (every kind: content, refusal, reasoning, tool
 * and legacy function calls, audio) and from whatever else a choice carries but its framing (a whole
 * `message`, which some compatible servers stream and the SDK's ChatCompletionStream shows), usage from
 * the chunk OpenAI sends last when asked (`stream_options.include_usage`, which the gateway always sets
 * upstream), or from a choice where a chunk carries none (Moonshot's, passed on as it came). The usage chunk
 * is dropped unless the client asked for it too; an error it carries is passed on without the usage. The
 * stream is finished at `[DONE]` (unless the provider reported an error) or at that last chunk: a usage
 * chunk without choices; a usage after `[DONE]` is passed on as any chunk is, but not read. A chunk with an
 * `error` the provider sent, on the chunk or on a choice, is passed on with its credentials cut out. An audio
 * answer's id (a delta's `audio.id`) goes to `recordAudio`, and the chunk that names it waits for what that returns.
 */
class OpenAIChunkMeter implements EventMeter {
  deliveredOutputBytes = 0
  providerFailed = false
  private sawDone = false
  private sawFinalUsage = false
  private latestUsage: TokenCounts | null = null
  private outputAfterUsage = false
  /** The tier the last chunk named (OpenAI names it on every chunk), for a stream that ends without a usage. */
  statedTier: string | undefined
  private wait: Promise<void> | null = null
  /** The audio ids recorded: a later delta may name its answer's again. */
  private readonly audioIds = new Set<string>()

  constructor(
    private readonly passUsage: boolean,
    private readonly secrets?: () => readonly string[],
    private readonly recordAudio?: (id: string) => Promise<void>,
  ) {}

  takeWait(): Promise<void> | null {
    const wait = this.wait
    this.wait = null
    return wait
  }

  /**
   * vLLM ends every stream with `[DONE]`, one that failed before its first token too (`data: {"error": …}`, then
   * `[DONE]`), and so does OpenRouter after a choice's error: after the provider's error, only a final usage
   * finishes the stream; otherwise it ends `failed`.
   */
  get finished(): boolean {
    return this.sawFinalUsage || (this.sawDone && !this.providerFailed)
  }

  /**
   * A usage counts what was generated up to the chunk that carries it: OpenAI's, in its last chunk,
   * counts everything; a server with continuous usage stats (vLLM) sends a cumulative one on every chunk,
   * that chunk's delta included. So the usage stands for the stream only if no output came after it.
   * Otherwise the stream has no usage and is billed as one without (the estimate when it finished or
   * was closed, the input estimate plus the output delivered when cut), never from the smaller count.
   */
  get usage(): TokenCounts | null {
    return this.outputAfterUsage ? null : this.latestUsage
  }

  inspect(event: SseEvent): Passed | null {
    if (event.data === '') return KEEP_ALIVE
    if (event.data === '[DONE]') {
      this.sawDone = true
      return event
    }
    const chunk = jsonOf<ChatChunk>(event)
    if (!chunk || typeof chunk !== 'object') return null
    const failed = Boolean(chunk.error)
    // An error on a choice (OpenRouter's failure mid-generation, `finish_reason: "error"`) is the provider's as much as one on the chunk.
    let choiceFailed = false
    for (const choice of chunk.choices ?? []) {
      if (!choice || typeof choice !== 'object') continue
      const d = choice.delta
      this.noteAudio(d)
      let bytes = generatedBytes(choice, 'delta') + (d && typeof d === 'object' ? generatedBytes(d, 'audio') + audioOutputTokens(d.audio) : 0)
      // Moonshot streams its usage inside the choice (`choices[0].usage`): counts, not output; nor is an error.
      if (choice.usage && typeof choice.usage === 'object') bytes -= generatedBytes(choice.usage)
      if (choice.error != null) {
        bytes -= generatedBytes(choice.error)
        choiceFailed = true
      }
      this.deliveredOutputBytes += bytes
      if (bytes > 0) this.outputAfterUsage = true
    }
    if (failed || choiceFailed) this.providerFailed = true
    const tier = reportedTier(chunk.service_tier)
    if (tier !== undefined && !this.sawDone) this.statedTier = tier
    // [DONE] ended the stream: a usage after it (a proxy's trailer) is not the provider's account of it.
    const stated = this.sawDone ? null : chunkUsage(chunk)
    if (stated) this.noteUsage(openAIUsage(stated, chunk.service_tier))
    if (chunk.usage) {
      const last = !chunk.choices || chunk.choices.length === 0
      if (last) this.sawFinalUsage = true
      if (!this.passUsage && last) {
        if (!failed) return ''
        // The client did not ask for the usage, but the error beside it is the provider's word on the stream.
        const { usage: _, ...withoutUsage } = chunk
        return redactedErrorEvent(event, withoutUsage, this.secrets)
      }
    }
    return failed || choiceFailed ? redactedErrorEvent(event, chunk, this.secrets) : event
  }

  /** An audio answer's id, recorded before the client has it: its next request may reach another replica. */
  private noteAudio(delta: unknown): void {
    const id = this.recordAudio && audioAnswerOf(delta)
    if (!id || this.audioIds.has(id)) return
    this.audioIds.add(id)
    const recorded = this.recordAudio!(id)
    // Several choices' audio in one chunk: the chunk waits for each.
    this.wait = this.wait === null ? recorded : Promise.all([this.wait, recorded]).then(() => {})
  }

  /**
   * Usages are cumulative, so each count is the largest stated: a later, smaller one (a proxy appending a
   * usage of zeros after the provider's) shrinks nothing. Only a usage that counts more output than the one
   * held can have counted the output delivered since; one that does not leaves that output unaccounted for.
   */
  private noteUsage(stated: TokenCounts | null): void {
    if (!stated) return
    const countsMore = !this.latestUsage || stated.completionTokens > this.latestUsage.completionTokens
    this.latestUsage = largerCounts(this.latestUsage, stated)
    if (countsMore) this.outputAfterUsage = false
  }

  errorEvent(why: keyof typeof STREAM_ERRORS): string {
    return formatSse({ error: { message: STREAM_ERRORS[why], type: 'api_error', code: 'upstream_error', param: null } })
  }
}

/**
 * Meters an OpenAI-format SSE stream on its way to the client (see `meterStream`); `recordAudio` records an audio
 * answer's id, resolving once written.
 */
export function meterOpenAIStream(upstream: ReadableStream<Uint8Array>, o: MeterOptions & OpenAIMeterOptions): MeteredStream {
  return meterStream(upstream, openAIMeter(o), o)
}

/** The meter of an OpenAI-format stream, for `meterStream` or, before a converter, `meterEvents`. */
export const openAIMeter = (o: OpenAIMeterOptions): EventMeter => new OpenAIChunkMeter(o.passUsage, o.secrets, o.recordAudio)

type OpenAIMeterOptions = Pick<MeterOptions, 'secrets'> & { passUsage: boolean; recordAudio?: (id: string) => Promise<void> }
