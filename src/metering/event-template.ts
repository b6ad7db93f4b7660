import type { SseEvent } from '../translate/sse'

/**
 * The bytes of output a plain event delivers (one that only streams output: no usage, no error, no end),
 * or null for any other event or for data that is not JSON. Parses: the slow path a template spares.
 */
export type PlainEventBytes = (data: string, event: string | null) => number | null

/** A stream stops being learned from after this many shapes: a stream whose every event differs pays the full parse only. */
const MAX_LEARNED = 4

/**
 * Most events of a stream are one delta after another that differ only in one string: the same chunk id,
 * model, index and keys, with the next piece of text. Once a plain event has been parsed, its text around
 * that string is kept as a template (the prefix up to the string's opening quote, the suffix from its
 * closing quote), and an event that has the same prefix and suffix around a valid JSON string body is
 * that same object with another string: its output is the template's other output plus the string's UTF-8
 * bytes, counted while the string is checked, with no `JSON.parse`. Anything else (another shape, an
 * escape this scan does not decode, a string body that is not one) takes the full parse.
 *
 * A template is only kept after probes show that the string is counted as output byte for byte: the
 * template with an empty string, with "ab" and with "é" parsed the slow way must count 0, 2 and 2 bytes
 * more than the rest of the event. A string that is a framing field, a key, audio data or anything that
 * changes what kind of event it is fails them.
 */
export class EventTemplate {
  private prefix = ''
  private suffix = ''
  private event: string | null = null
  private rest = 0
  private learned = 0

  /** `markers` end just before the opening quote of the string that changes, e.g. `"content":`; the first one found is used. */
  constructor(
    private readonly markers: string[],
    private readonly plainBytes: PlainEventBytes,
  ) {}

  /** The output bytes of an event of the template's shape; undefined when it is not of that shape. */
  match(sse: SseEvent): number | undefined {
    if (!this.prefix) return undefined
    const data = sse.data
    const end = data.length - this.suffix.length
    if (end < this.prefix.length || sse.event !== this.event || !data.startsWith(this.prefix) || !data.endsWith(this.suffix)) return undefined
    const bytes = stringBodyBytes(data, this.prefix.length, end)
    return bytes < 0 ? undefined : this.rest + bytes
  }

  /** Called with a plain event that took the full parse and the bytes it counted: keeps its shape when the probes agree. */
  learn(sse: SseEvent, bytes: number): void {
    if (this.learned >= MAX_LEARNED) return
    const data = sse.data
    const marker = this.markers.find((m) => data.includes(m))
    if (marker === undefined) return
    let open = data.lastIndexOf(marker) + marker.length
    while (data.charCodeAt(open) === 32) open++
    if (data.charCodeAt(open) !== 34) return
    const close = closingQuote(data, open + 1)
    if (close < 0) return
    const body = stringBodyBytes(data, open + 1, close)
    if (body < 0) return
    const prefix = data.slice(0, open + 1)
    const suffix = data.slice(close)
    const rest = bytes - body
    this.learned++
    try {
      for (const [probe, n] of PROBES) if (this.plainBytes(prefix + probe + suffix, sse.event) !== rest + n) return
    } catch {
      return
    }
    this.prefix = prefix
    this.suffix = suffix
    this.event = sse.event
    this.rest = rest
  }
}

const PROBES: Array<[string, number]> = [
  ['', 0],
  ['ab', 2],
  ['é', 2],
]

/** The index of the quote that closes a JSON string whose body starts at `from`; -1 when none does. */
function closingQuote(s: string, from: number): number {
  for (let i = from; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c === 92) i++
    else if (c === 34) return i
  }
  return -1
}

/**
 * The UTF-8 bytes of the JSON string body s[from, to) once decoded, as `Buffer.byteLength` counts them (a
 * lone surrogate as the three bytes of U+FFFD); -1 when it is not a string body this scan reads: an
 * unescaped quote or control character, a bad escape, or a `\u` escape (left to the full parse).
 */
export function stringBodyBytes(s: string, from: number, to: number): number {
  let n = 0
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x80) {
      if (c === 34 || c < 0x20) return -1
      if (c === 92) {
        if (++i >= to) return -1
        const e = s.charCodeAt(i)
        // \" \\ \/ \b \f \n \r \t: one byte each.
        if (e !== 34 && e !== 92 && e !== 47 && e !== 98 && e !== 102 && e !== 110 && e !== 114 && e !== 116) return -1
      }
      n += 1
    } else if (c < 0x800) n += 2
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < to && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4
      i++
    } else n += 3
  }
  return n
}
