/** Past this many characters, a number or literal standing alone is taken for no value: no tool's arguments are one. */
const MAX_BARE_VALUE = 32

const QUOTE = 34
const BACKSLASH = 92
const isWhitespace = (c: number) => c === 32 || c === 10 || c === 13 || c === 9
const isOpener = (c: number) => c === 123 /* { */ || c === 91 /* [ */
const isCloser = (c: number) => c === 125 /* } */ || c === 93 /* ] */

/**
 * A tool call's argument text as a provider streams it, delta by delta, and whether it is yet a whole JSON value (or
 * object), which nothing that follows could continue. The text is scanned once: each delta when the question is next
 * asked (a stream that never asks pays nothing more than the text), counting brackets outside strings; it is parsed
 * only when the value that opened it closes (its brackets at depth 0, or its string), which happens once in a JSON
 * text (a closed text that does not parse never will: anything after it can only add to what is wrong). A number or
 * literal standing alone (Ollama's no-argument `null`) is kept apart, and parsed, while it stays short. A delta must
 * never start the scan over from the text's first byte: a server's interleaved calls ask after every delta, and a
 * long argument would cost its length squared.
 */
export class StreamedArguments {
  text = ''
  private readonly unscanned: string[] = []
  /** The value's first character, whitespace aside. */
  private opener: number | undefined
  private depth = 0
  private inString = false
  private escaped = false
  /** A number or literal standing alone, as far as it came (up to `MAX_BARE_VALUE` characters and one more). */
  private bare = ''
  /** Whether the value has ended (closed, or a number or literal followed by whitespace) with only whitespace after it. */
  private closed = false
  /** Once the value closed: whether the text parsed. False for good as soon as anything follows the close. */
  private parsed: boolean | undefined

  append(delta: string): void {
    if (delta === '') return
    this.text += delta
    this.unscanned.push(delta)
  }

  /** Whether the text so far is one whole JSON value, whitespace aside. */
  isWholeValue(): boolean {
    for (const delta of this.unscanned) this.scan(delta)
    this.unscanned.length = 0
    if (this.opener === undefined || this.parsed === false) return false
    if (this.standsAlone()) {
      if (this.bare.length > MAX_BARE_VALUE) return false
      if (!this.closed) return parses(this.bare)
    } else if (!this.closed) return false
    this.parsed ??= parses(this.standsAlone() ? this.bare : this.text)
    return this.parsed
  }

  /** Whether the text so far is one whole JSON object, whitespace aside. */
  isWholeObject(): boolean {
    return this.isWholeValue() && this.opener === 123 /* { */
  }

  /** Whether the value is a number or literal (or no JSON at all), not an object, array or string. */
  private standsAlone(): boolean {
    return this.opener !== undefined && this.opener !== QUOTE && !isOpener(this.opener)
  }

  private scan(delta: string): void {
    if (this.parsed === false) return
    for (let i = 0; i < delta.length; i++) {
      const c = delta.charCodeAt(i)
      if (this.inString) {
        if (this.escaped) this.escaped = false
        else if (c === BACKSLASH) this.escaped = true
        else if (c === QUOTE) {
          this.inString = false
          if (this.depth === 0) this.closed = true
        }
        continue
      }
      if (isWhitespace(c)) {
        if (this.bare !== '') this.closed = true
        continue
      }
      // Anything after the close (whitespace aside) makes the text no JSON, for good.
      if (this.closed) {
        this.parsed = false
        return
      }
      this.opener ??= c
      if (this.standsAlone()) {
        if (this.bare.length <= MAX_BARE_VALUE) this.bare += delta[i]
      } else if (c === QUOTE) this.inString = true
      else if (isOpener(c)) this.depth++
      else if (isCloser(c) && --this.depth === 0) this.closed = true
    }
  }
}

function parses(text: string): boolean {
  try {
    JSON.parse(text)
    return true
  } catch {
    return false
  }
}
