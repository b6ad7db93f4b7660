import { SseParser, type SseEvent } from './sse'

/** Turns one wire format's stream events into another's, one event at a time. */
export interface StreamConverter {
  /** What the client gets for this upstream event ('' for nothing). */
  push(event: SseEvent): string
  /** The upstream stream ended: whatever the client is still owed (an error, if it never finished). */
  end(): string
  /** True once the converter met an event it cannot translate: nothing more is read. */
  readonly broken: boolean
}

const encoder = new TextEncoder()

/**
 * How long a translated stream's client may go without a byte while its provider is sending: then it gets a
 * keep-alive comment (`:`), which both SDKs' decoders and any SSE client skip. Reads that convert to nothing (the
 * provider's own keep-alives, Anthropic's `ping`, thinking or `reasoning_content` the client's format has no place
 * for) would otherwise leave it silent for as long as the model thinks, and an idle cut on the way (a load
 * balancer's or nginx's 60 s, Cloudflare's 100 s) ends a stream still generated and billed. A second is far inside
 * every such timeout, yet at most 3 bytes a second; a stream whose reads convert to output gains nothing.
 */
export const KEEP_ALIVE_AFTER_MS = 1_000
const KEEP_ALIVE = ':\n\n'

/**
 * Converts an SSE stream as it arrives (never the whole answer in memory). The client's pace is the
 * upstream's pace: nothing is read ahead, and a client that goes away cancels the source, which is what
 * aborts the upstream call. A source cancelled here (a converter that broke) is cancelled before the client's
 * stream ends: a metered source settles its call on its cancel, after a look at what has arrived.
 */
export function convertStream(source: ReadableStream<Uint8Array>, converter: StreamConverter): ReadableStream<Uint8Array> {
  const reader = source.getReader()
  const parser = new SseParser()
  let cancelled = false
  /** What the events of this read converted so far make: still the client's if a later one throws. */
  let converted = ''
  const convert = (events: SseEvent[]) => {
    for (const event of events) {
      converted += converter.push(event)
      if (converter.broken) break
    }
    return converted
  }

  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        // Bun pulls once the last bytes handed went out: the client has had nothing since.
        const pulledAt = performance.now()
        try {
          for (;;) {
            converted = ''
            const { value, done } = await reader.read()
            if (cancelled) return
            if (done) {
              let out = convert(parser.end())
              if (!converter.broken) out += converter.end()
              if (out) controller.enqueue(encoder.encode(out))
              controller.close()
              return
            }
            const out = convert(parser.push(value))
            if (converter.broken) {
              controller.enqueue(encoder.encode(out))
              await reader.cancel().catch(() => {})
              controller.close()
              return
            }
            if (out) {
              controller.enqueue(encoder.encode(out))
              return
            }
            if (performance.now() - pulledAt >= KEEP_ALIVE_AFTER_MS) {
              controller.enqueue(encoder.encode(KEEP_ALIVE))
              return
            }
          }
        } catch {
          if (cancelled) return
          // The source failed outright, or the converter threw on an event (the meters turn their own failures
          // into events, so this is a bug's path). The source is cancelled as for a broken converter: left
          // unread, it would keep the upstream call open and its hold reserved until the upstream timeout.
          const out = converted + converter.end()
          if (out) controller.enqueue(encoder.encode(out))
          await reader.cancel().catch(() => {})
          controller.close()
        }
      },
      cancel() {
        cancelled = true
        return reader.cancel().catch(() => {})
      },
    },
    { highWaterMark: 0 },
  )
}
