import { ContainerStack } from './container-stack'

/** Past this many characters, a number or literal standing alone is taken for no value: no tool's arguments are one. */
const MAX_BARE_VALUE = 32

const QUOTE = 34
const BACKSLASH = 92
const isWhitespace = (c: number) => c === 32 || c === 10 || c === 13 || c === 9
const isDigit = (c: number) => c >= 48 && c <= 57
const isHexDigit = (c: number) => isDigit(c) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102)
const LITERALS: Record<number, string> = { 116: 'true', 102: 'false', 110: 'null' }
/** The characters a backslash may escape in a JSON string, `u` aside. */
const ESCAPED = new Set([QUOTE, BACKSLASH, 47 /* / */, 98 /* b */, 102 /* f */, 110 /* n */, 114 /* r */, 116 /* t */])

// The reader's states: plain numbers, not an enum, for the reading loop is hot (an enum's members are property reads).
const S_VALUE = 0 // A value must come.
const S_VALUE_OR_END = 1 // Just after `[`: a value or `]`.
const S_KEY_OR_END = 2 // Just after `{`: a key or `}`.
const S_KEY = 3 // After `,` in an object: a key.
const S_COLON = 4 // After a key: `:`.
const S_AFTER_VALUE = 5 // A value ended: `,` or a closer inside a container, only whitespace at the top.
const S_STRING = 6
const S_ESCAPE = 7
const S_UNICODE = 8 // Inside `\uXXXX`, `hexLeft` digits to go.
const S_LITERAL = 9
const S_MINUS = 10 // After `-`: a digit.
const S_ZERO = 11 // After a leading `0`: a fraction, exponent or the number's end.
const S_INTEGER_DIGITS = 12
const S_POINT = 13 // After `.`: a digit.
const S_FRACTION_DIGITS = 14
const S_EXPONENT = 15 // After `e`: a sign or a digit.
const S_EXPONENT_SIGN = 16 // After the exponent's sign: a digit.
const S_EXPONENT_DIGITS = 17
const S_INVALID = 18 // The text is no JSON, whatever follows.
type State = number

/** Number states in which the number may end. */
const endsNumber = (s: State) => s === S_ZERO || s === S_INTEGER_DIGITS || s === S_FRACTION_DIGITS || s === S_EXPONENT_DIGITS

/**
 * A tool call's argument text as a provider streams it, delta by delta, and whether it is yet a whole JSON value (or
 * object), which nothing that follows could continue. Each delta is read once, when it comes, by an incremental JSON
 * reader (what JSON.parse takes, character by character), and then let go: nothing of the text is kept but the
 * reader's state and its open containers (a bit each), so a call streaming megabytes of arguments costs no memory for
 * them (a translated stream passes each delta on as it comes; keeping them kept 48 MB per such call). A number or
 * literal standing alone (Ollama's no-argument `null`) is a whole value only while short. A delta must never start
 * the reading over from the text's first byte: a server's interleaved calls ask after every delta, and a long
 * argument would cost its length squared.
 */
export class StreamedArguments {
  private state = S_VALUE
  private readonly containers = new ContainerStack()
  /** Whether the string being read is an object's key. */
  private inKey = false
  private hexLeft = 0
  private literal = ''
  private literalAt = 0
  /** The value's first character, whitespace aside. */
  private opener: number | undefined
  /** Whether the value is a number or literal standing alone, and how long it came. */
  private bare = false
  private bareLength = 0

  append(delta: string): void {
    const n = delta.length
    for (let i = 0; i < n && this.state !== S_INVALID; i++) {
      // A string's plain characters (most of a long argument) change nothing: skipped in a tight loop.
      if (this.state === S_STRING) i = plainTextEnd(delta, i)
      if (i < n) this.read(delta.charCodeAt(i))
    }
  }

  /** Whether the text so far is one whole JSON value, whitespace aside. */
  isWholeValue(): boolean {
    if (this.containers.depth > 0) return false
    if (this.state !== S_AFTER_VALUE && !endsNumber(this.state)) return false
    return !this.standsAlone() || this.bareLength <= MAX_BARE_VALUE
  }

  /** Whether the text so far is one whole JSON object, whitespace aside. */
  isWholeObject(): boolean {
    return this.opener === 123 /* { */ && this.isWholeValue()
  }

  /** Whether the value is a number or literal, not an object, array or string. */
  private standsAlone(): boolean {
    return this.opener !== undefined && this.opener !== QUOTE && this.opener !== 123 && this.opener !== 91
  }

  private read(c: number): void {
    if (this.opener === undefined && !isWhitespace(c)) {
      this.opener = c
      this.bare = this.standsAlone()
    }
    if (this.bare && !isWhitespace(c)) this.bareLength++
    switch (this.state) {
      case S_STRING:
        if (c === QUOTE) this.endString()
        else if (c === BACKSLASH) this.state = S_ESCAPE
        else if (c < 32) this.state = S_INVALID
        return
      case S_ESCAPE:
        if (c === 117 /* u */) {
          this.state = S_UNICODE
          this.hexLeft = 4
        } else this.state = ESCAPED.has(c) ? S_STRING : S_INVALID
        return
      case S_UNICODE:
        if (!isHexDigit(c)) this.state = S_INVALID
        else if (--this.hexLeft === 0) this.state = S_STRING
        return
      case S_LITERAL:
        if (c !== this.literal.charCodeAt(this.literalAt++)) this.state = S_INVALID
        else if (this.literalAt === this.literal.length) this.state = S_AFTER_VALUE
        return
      case S_MINUS:
        this.state = c === 48 ? S_ZERO : isDigit(c) ? S_INTEGER_DIGITS : S_INVALID
        return
      case S_POINT:
        this.state = isDigit(c) ? S_FRACTION_DIGITS : S_INVALID
        return
      case S_EXPONENT:
        this.state = c === 43 || c === 45 ? S_EXPONENT_SIGN : isDigit(c) ? S_EXPONENT_DIGITS : S_INVALID
        return
      case S_EXPONENT_SIGN:
        this.state = isDigit(c) ? S_EXPONENT_DIGITS : S_INVALID
        return
      case S_ZERO:
      case S_INTEGER_DIGITS:
      case S_FRACTION_DIGITS:
      case S_EXPONENT_DIGITS:
        if (this.continuesNumber(c)) return
        this.state = S_AFTER_VALUE // the number ended: the character is read after it
        break
    }
    if (isWhitespace(c)) return
    switch (this.state) {
      case S_VALUE:
        return this.startValue(c)
      case S_VALUE_OR_END:
        if (c === 93 /* ] */) return this.close()
        return this.startValue(c)
      case S_KEY_OR_END:
        if (c === 125 /* } */) return this.close()
        return this.startKey(c)
      case S_KEY:
        return this.startKey(c)
      case S_COLON:
        this.state = c === 58 /* : */ ? S_VALUE : S_INVALID
        return
      case S_AFTER_VALUE:
        if (this.containers.depth === 0) this.state = S_INVALID
        else if (c === 44 /* , */) this.state = this.containers.inObject() ? S_KEY : S_VALUE
        else if (c === (this.containers.inObject() ? 125 : 93)) this.close()
        else this.state = S_INVALID
        return
    }
  }

  /** Whether `c` continues the number being read (its state updated), else it ended before `c`. */
  private continuesNumber(c: number): boolean {
    const s = this.state
    if (isDigit(c) && s !== S_ZERO) return true
    if (isDigit(c)) this.state = S_INVALID // a leading zero takes no digit after it
    else if (c === 46 /* . */ && (s === S_ZERO || s === S_INTEGER_DIGITS)) this.state = S_POINT
    else if ((c === 101 || c === 69) /* e E */ && s !== S_EXPONENT_DIGITS) this.state = S_EXPONENT
    else return false
    return true
  }

  private startValue(c: number): void {
    if (c === 123 /* { */) {
      this.containers.push(true)
      this.state = S_KEY_OR_END
    } else if (c === 91 /* [ */) {
      this.containers.push(false)
      this.state = S_VALUE_OR_END
    } else if (c === QUOTE) {
      this.inKey = false
      this.state = S_STRING
    } else if (c === 45 /* - */) this.state = S_MINUS
    else if (c === 48) this.state = S_ZERO
    else if (isDigit(c)) this.state = S_INTEGER_DIGITS
    else if (LITERALS[c] !== undefined) {
      this.literal = LITERALS[c]
      this.literalAt = 1
      this.state = S_LITERAL
    } else this.state = S_INVALID
  }

  private startKey(c: number): void {
    this.inKey = true
    this.state = c === QUOTE ? S_STRING : S_INVALID
  }

  private endString(): void {
    this.state = this.inKey ? S_COLON : S_AFTER_VALUE
  }

  private close(): void {
    this.containers.pop()
    this.state = S_AFTER_VALUE
  }
}

/** Where the plain characters of a string's text starting at `from` end: at a quote, a backslash or a control character. */
function plainTextEnd(text: string, from: number): number {
  let i = from
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === QUOTE || c === BACKSLASH || c < 32) break
  }
  return i
}
