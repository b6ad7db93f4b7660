/**
 * The most UTF-16 units of one long string written at a time: a delta event's piece of a long text, a done event's
 * slice of the text it repeats. Sixteen thousand units are at most 96 KB escaped (`\u0001` is six bytes a unit).
 */
export const PIECE_UNITS = 16 * 1024

const isHighSurrogate = (unit: number): boolean => unit >= 0xd800 && unit <= 0xdbff

/** Where the slice of `text` from `start` ends: PIECE_UNITS on, or one before, so that no pair is cut in two. */
export function pieceEnd(text: string, start: number): number {
  const end = Math.min(text.length, start + PIECE_UNITS)
  // Each half of a pair alone would be written as the escape of a lone surrogate, not as the character.
  return end < text.length && isHighSurrogate(text.charCodeAt(end - 1)) ? end - 1 : end
}

/**
 * The JSON text of `value`, a piece at a time: its long strings (a whole answer's text, a generated image's base64)
 * escaped a slice at a time, and the rest between them as it is. An event that repeats a long answer, written whole,
 * is a copy of it built at once, beside the answer; in pieces, a slice of it is. Joined, the pieces are
 * `JSON.stringify(value)`.
 */
export function* jsonPieces(value: unknown): Generator<string> {
  const long: string[] = []
  // Where a long string goes: a mark no string of the value can hold (JSON.stringify visits them in the text's order).
  const mark = `\u0000${crypto.randomUUID()}`
  const skeleton = JSON.stringify(value, (_key, v) => (typeof v === 'string' && v.length > PIECE_UNITS ? (long.push(v), mark) : v))
  const quotedMark = JSON.stringify(mark)
  let from = 0
  for (const text of long) {
    const at = skeleton.indexOf(quotedMark, from)
    yield skeleton.slice(from, at + 1)
    for (let start = 0; start < text.length;) {
      const end = pieceEnd(text, start)
      yield JSON.stringify(text.slice(start, end)).slice(1, -1)
      start = end
    }
    from = at + quotedMark.length - 1
  }
  yield skeleton.slice(from)
}
