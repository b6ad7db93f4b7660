import { MAX_HANDED_BYTES, type MeteredStream } from '../metering/metered-stream'
import type { SseEvent } from './sse'
import { UnhandedText } from './unhanded-text'

/**
 * What a converter gives the client for an event: its text, or the texts of several events in order, each a string or
 * a function that writes it when its turn to be handed comes, whole or a piece at a time (jsonPieces). An event that
 * repeats a whole answer's text (Responses' done events, four of them) is written once the one before it is handed,
 * and a piece at a time, so that no copy of that text is built whole.
 */
export type Converted = string | readonly (string | (() => string | Iterable<string>))[]

/** What several conversions gave, in order, as one: joined if all of it is text already, else nothing written yet. */
export const inOrder = (...parts: Converted[]): Converted =>
  parts.every((part) => typeof part === 'string') ? parts.join('') : parts.flatMap((part) => (typeof part === 'string' ? [part] : part))

/** The text of what a converter gave, whole. */
export const convertedText = (converted: Converted): string =>
  typeof converted === 'string' ? converted : converted.map(writtenText).join('')

const writtenText = (text: string | (() => string | Iterable<string>)): string => {
  if (typeof text === 'string') return text
  const written = text()
  return typeof written === 'string' ? written : [...written].join('')
}

/** Turns one wire format's stream events into another's, one event at a time. */
export interface StreamConverter {
  /** What the client gets for this upstream event ('' for nothing). */
  push(event: SseEvent): Converted
  /** The upstream stream ended: whatever the client is still owed (an error, if it never finished). */
  end(): Converted
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
 * Converts a metered stream's events as they arrive (never the whole answer in memory). The client's pace is the
 * upstream's pace: nothing is read ahead, and a client that goes away cancels the source, which is what
 * aborts the upstream call. A source cancelled here (a converter that broke) is cancelled before the client's
 * stream ends: a metered source settles its call on its cancel, after a look at what has arrived.
 *
 * A pull hands at most what the meter's does (`MAX_HANDED_BYTES`), for the same reason: Bun pulls again once the
 * client took what it was handed, and a metered source hears of each piece handed (`handedOn`), so its idle rule sees
 * a slow client reading steadily, where an event of many megabytes converted and handed in one piece looked like a
 * client taking nothing until all of it drained.
 */
export function convertStream(source: MeteredStream<SseEvent[]>, converter: StreamConverter): ReadableStream<Uint8Array> {
  const reader = source.getReader()
  let cancelled = false
  /** What was converted and not handed yet: the events of this read still the client's if a later one throws. */
  const unhanded = new UnhandedText()
  /** Once set, the stream closes when everything converted has been handed. */
  let closing = false
  /**
   * The events of the last read, converted from `next` on as what they convert to is handed: a read can hold
   * megabytes of events (a fast provider, a slow client), and converted at once its output would wait whole, beside
   * them. An event converted is let go of, its parsed JSON with it.
   */
  let events: (SseEvent | undefined)[] = []
  let next = 0
  const convert = () => {
    while (next < events.length && !unhanded.fills(MAX_HANDED_BYTES)) {
      const event = events[next]!
      events[next++] = undefined
      unhanded.add(converter.push(event))
      if (converter.broken) break
    }
  }
  const handPiece = (controller: ReadableStreamDefaultController<Uint8Array>) => {
    controller.enqueue(unhanded.take(MAX_HANDED_BYTES))
    if (!closing) source.handedOn()
    else if (unhanded.empty) controller.close()
  }
  const closeAfterRest = (controller: ReadableStreamDefaultController<Uint8Array>) => {
    closing = true
    if (unhanded.empty) controller.close()
    else handPiece(controller)
  }

  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (!unhanded.empty) return handPiece(controller)
        // Bun pulls once the last bytes handed went out: the client has had nothing since.
        const pulledAt = performance.now()
        try {
          for (;;) {
            if (next === events.length) {
              const { value, done } = await reader.read()
              if (cancelled) return
              if (done) {
                unhanded.add(converter.end())
                return closeAfterRest(controller)
              }
              events = value
              next = 0
            }
            convert()
            if (converter.broken) {
              await reader.cancel().catch(() => {})
              return closeAfterRest(controller)
            }
            if (!unhanded.empty) return handPiece(controller)
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
          unhanded.add(converter.end())
          await reader.cancel().catch(() => {})
          closeAfterRest(controller)
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
