/** One server-sent event: its name (null when unnamed), its joined `data:` lines, and its text as received. */
export interface SseEvent {
  event: string | null
  data: string
  raw: string
  /**
   * Where its data is kept once parsed (`jsonOf`), on an event read again after the meter (by a converter), which then
   * reads the object the meter read; an event read once has no such slot, and nothing of it is kept.
   */
  parsed?: unknown
}

/**
 * The longest event the parser waits for: 64 Mi characters (64 MB of JSON text, whose long strings are
 * base64). A Responses `response.completed` repeats every image the response generated, so events of tens
 * of MB are real; one that grows past this is a provider that does not end its event, and waiting for it
 * would hold memory without bound.
 */
export const MAX_EVENT_CHARS = 64 << 20

/**
 * Cuts a byte stream into server-sent events as bytes arrive: complete events come out, a partial one
 * waits for more. Line endings may be \n, \r\n or \r.
 *
 * Each read's text is looked at once: only it is normalised and searched, and the partial event is kept
 * as the pieces it came in, joined when it completes. Rescanning the whole partial event on every read
 * made a long event (megabytes of base64 in many reads) cost quadratic time on the request thread.
 */
export class SseParser {
  /** `readAgain`: its events are read again after the meter (by a converter): each keeps its data once parsed. */
  constructor(private readonly readAgain = false) {}

  private readonly decoder = new TextDecoder()
  /** The partial event, normalised, with no blank line in it. */
  private pending: string[] = []
  private pendingLength = 0
  /** Pieces of `pending` already joined: tiny reads are packed so that a long event is not millions of strings. */
  private packed = 0
  /** A \r that ended the last read: it may be the first half of a \r\n split across reads. */
  private heldCr = false
  private tooLong = false

  /** An event grew past MAX_EVENT_CHARS: it was dropped, and nothing more comes out. */
  get overflowed(): boolean {
    return this.tooLong
  }

  /** The events of a whole stream's text. */
  static eventsIn(text: string): SseEvent[] {
    return new SseParser().take(text, true)
  }

  push(bytes: Uint8Array): SseEvent[] {
    return this.take(this.decoder.decode(bytes, { stream: true }), false)
  }

  /** The stream ended: whatever is left is the last event. */
  end(): SseEvent[] {
    return this.take(this.decoder.decode(), true)
  }

  private take(text: string, final: boolean): SseEvent[] {
    if (this.tooLong) return []
    if (this.heldCr) text = '\r' + text
    this.heldCr = !final && text.endsWith('\r')
    if (this.heldCr) text = text.slice(0, -1)
    if (text.includes('\r')) text = text.replace(/\r\n?/g, '\n')

    const events: SseEvent[] = []
    let start = 0
    if (this.pending.length > 0) {
      // The partial event ends at the first blank line, which may begin with its own last \n.
      const seam = text.charCodeAt(0) === 10 && this.pending[this.pending.length - 1]!.endsWith('\n')
      const end = seam ? 0 : text.indexOf('\n\n')
      if (end === -1 && !final) {
        this.hold(text)
        return events
      }
      if (end !== -1) {
        const before = this.joined()
        events.push(this.parsed(seam ? before.slice(0, -1) : before + text.slice(0, end)))
        start = seam ? 1 : end + 2
      } else {
        text = this.joined() + text
      }
    }
    for (let end = text.indexOf('\n\n', start); end !== -1; end = text.indexOf('\n\n', start)) {
      events.push(this.parsed(text.slice(start, end)))
      start = end + 2
    }
    const rest = start === 0 ? text : text.slice(start)
    if (!final) this.hold(rest)
    else if (rest.trim() !== '') events.push(this.parsed(rest.replace(/\n+$/, '')))
    return events
  }

  private parsed(raw: string): SseEvent {
    const event = parseEvent(raw)
    if (this.readAgain) event.parsed = undefined
    return event
  }

  /** Keeps text of the partial event. */
  private hold(text: string): void {
    if (text === '') return
    this.pending.push(text)
    this.pendingLength += text.length
    if (this.pendingLength > MAX_EVENT_CHARS) {
      this.tooLong = true
      this.clear()
    } else if (this.pending.length - this.packed >= 256) {
      this.pending.push(this.pending.splice(this.packed).join(''))
      this.packed++
    }
  }

  /** The partial event as one string; the parser holds nothing after it. */
  private joined(): string {
    const text = this.pending.length === 1 ? this.pending[0]! : this.pending.join('')
    this.clear()
    return text
  }

  private clear(): void {
    this.pending.length = 0
    this.pendingLength = 0
    this.packed = 0
  }
}

/**
 * An event's fields. Its `raw` text, which a meter relays as it came, keeps only what a client dispatches: the
 * last `event:` line and the `data:` lines. A comment, an `id:` or a `retry:` line is the provider's own text, free
 * to echo what it was sent (a key in a debug comment), and so is an `event:` line a later one overrides; the meters
 * check the name and data alone. Events of one name and data lines keep their text.
 */
function parseEvent(raw: string): SseEvent {
  // Most events are one `data:` line: no need to split them.
  if (raw.startsWith('data: ') && !raw.includes('\n')) return { event: null, data: raw.slice(6), raw }
  let event: string | null = null
  const data: string[] = []
  let names = 0
  let other = false
  for (const line of raw.split('\n')) {
    const value = (prefix: string) => line.slice(line.charAt(prefix.length) === ' ' ? prefix.length + 1 : prefix.length)
    if (line.startsWith('data:')) data.push(value('data:'))
    else if (line.startsWith('event:')) {
      event = value('event:')
      names++
    } else other = true
  }
  if (!other && names < 2) return { event, data: data.join('\n'), raw }
  const fields = [...(event === null ? [] : [`event: ${event}`]), ...data.map((line) => `data: ${line}`)]
  return { event, data: data.join('\n'), raw: fields.join('\n') }
}

/** An event as text: named (Anthropic's streams) or bare `data:` (OpenAI's). */
export function formatSse(data: unknown, event?: string): string {
  const payload = typeof data === 'string' ? data : JSON.stringify(data)
  return event ? `event: ${event}\ndata: ${payload}\n\n` : `data: ${payload}\n\n`
}

/** A `text/event-stream` answer, with any parameters (`; charset=utf-8`). */
export const isEventStream = (res: Response): boolean => /^text\/event-stream\s*(;|$)/i.test(res.headers.get('content-type')?.trim() ?? '')

/**
 * Parses an event's JSON payload; undefined when it is not JSON. An event read again (`SseParser`'s `readAgain`) is
 * parsed once: whoever reads it after (a converter after the meter) gets the same object, and must not change it.
 */
export function jsonOf<T = unknown>(event: SseEvent): T | undefined {
  if (event.parsed !== undefined) return event.parsed as T
  let parsed: unknown
  try {
    parsed = JSON.parse(event.data)
  } catch {
    return undefined
  }
  if ('parsed' in event) event.parsed = parsed
  return parsed as T
}
