import type { Converted } from './convert-stream'

const encoder = new TextEncoder()

type Later = Exclude<Converted, string>[number] & Function

/**
 * Converted text not handed to the client yet, kept as the converter gave it (one string an event, or a read's
 * worth; an event written only when its turn comes, whole or a piece at a time) and encoded only a piece at a time:
 * an event of many megabytes is never joined to the others, nor encoded whole beside its text.
 */
export class UnhandedText {
  /** The texts, those not written yet, and the pieces still to come of the one being written (at its head). */
  private readonly texts: Array<string | Later | Iterator<string>> = []
  /** Where the first text's unhanded part begins. */
  private at = 0
  /** UTF-16 units left in the texts written, to tell when all of it surely fits in a piece. */
  private units = 0
  /** Texts not written yet, or not wholly. */
  private unwritten = 0

  add(converted: Converted): void {
    for (const text of typeof converted === 'string' ? [converted] : converted) {
      if (text === '') continue
      this.texts.push(text)
      if (typeof text === 'string') this.units += text.length
      else this.unwritten++
    }
  }

  get empty(): boolean {
    return this.texts.length === 0
  }

  /** A piece of `maxBytes` can be taken whole, or a text not written yet waits (its length is not known yet). */
  fills(maxBytes: number): boolean {
    return this.unwritten > 0 || this.units >= maxBytes
  }

  /** Up to `maxBytes` of what is left, encoded (UTF-8: at most 3 bytes a UTF-16 unit, a pair never split). */
  take(maxBytes: number): Uint8Array {
    if (this.unwritten === 0 && this.units * 3 <= maxBytes) {
      const texts = this.texts as string[]
      const first = texts[0]!.slice(this.at)
      const text = texts.length === 1 ? first : first + texts.slice(1).join('')
      this.texts.length = this.at = this.units = 0
      return encoder.encode(text)
    }
    const bytes = new Uint8Array(maxBytes)
    let written = 0
    while (this.texts.length > 0 && written < maxBytes) {
      const text = this.first()
      // No more units than bytes left: a pair's half cut off at the end could only be written as a replacement
      // character (3 bytes) where at most one is left, so encodeInto leaves it for the next piece, whole.
      const end = Math.min(text.length, this.at + maxBytes - written)
      const done = encoder.encodeInto(text.substring(this.at, end), bytes.subarray(written))
      written += done.written
      this.at += done.read
      this.units -= done.read
      if (this.at < text.length) break
      this.texts.shift()
      this.at = 0
    }
    return bytes.subarray(0, written)
  }

  /** The first text, written now if it was not (its next piece, if it is written a piece at a time); '' if none is left. */
  private first(): string {
    for (;;) {
      const first = this.texts[0]
      if (first === undefined || typeof first === 'string') return first ?? ''
      const written = typeof first === 'function' ? first() : first
      if (typeof written === 'string') {
        this.texts[0] = written
        this.unwritten--
        this.units += written.length
        return written
      }
      const pieces = Symbol.iterator in written ? written[Symbol.iterator]() : written
      const next = pieces.next()
      if (next.done) {
        this.texts.shift()
        this.unwritten--
        continue
      }
      this.texts.splice(0, 1, next.value, pieces)
      this.units += next.value.length
      return next.value
    }
  }
}
