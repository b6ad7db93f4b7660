/**
 * A tool call's argument text as a provider streams it, delta by delta, and whether it is yet a whole JSON object,
 * which nothing that follows could continue. The text is scanned once: each delta when the question is next asked
 * (a stream that never asks pays nothing more than the text), counting brackets outside strings; it is parsed only
 * when they close at depth 0 on a `}`, which happens once in a JSON text (a closed text that does not parse never
 * will: anything after it can only add to what is wrong). A delta must never start the scan over from the text's
 * first byte: a server's interleaved calls ask after every delta, and a long argument would cost its length squared.
 */
export class StreamedArguments {
  text = ''
  private readonly unscanned: string[] = []
  private depth = 0
  private inString = false
  private escaped = false
  /** Whether the text so far closes at depth 0 on a `}` with only whitespace after it. */
  private closed = false
  /** Once the text closed: whether it parsed. */
  private parsed: boolean | undefined

  append(delta: string): void {
    if (delta === '') return
    this.text += delta
    this.unscanned.push(delta)
  }

  isWholeObject(): boolean {
    for (const delta of this.unscanned) this.scan(delta)
    this.unscanned.length = 0
    if (!this.closed) return false
    if (this.parsed === undefined) {
      try {
        JSON.parse(this.text)
        this.parsed = true
      } catch {
        this.parsed = false
      }
    }
    return this.parsed
  }

  private scan(delta: string): void {
    for (let i = 0; i < delta.length; i++) {
      const c = delta.charCodeAt(i)
      if (this.inString) {
        if (this.escaped) this.escaped = false
        else if (c === 92 /* \ */) this.escaped = true
        else if (c === 34 /* " */) this.inString = false
        continue
      }
      if (c === 32 || c === 10 || c === 13 || c === 9) continue
      // Anything after the close (whitespace aside) makes the text no JSON, for good.
      if (this.closed) this.parsed = false
      if (c === 34) this.inString = true
      else if (c === 123 /* { */ || c === 91 /* [ */) this.depth++
      else if (c === 125 /* } */ || c === 93 /* ] */) {
        if (--this.depth === 0 && c === 125 && this.parsed === undefined) this.closed = true
      }
    }
  }
}
