/**
 * Text cut for gpt-tokenizer's byte-pair merge, which is quadratic in the length of one pre-token (a word, a run of
 * punctuation or of whitespace): one "word" of 60,000 letters took 4 s, of 160,000 86 s. So text reaches it in
 * pieces, cut where a pre-token ends whatever follows (which changes no count) and, in a run of MAX_RUN characters
 * with no such place, every MAX_RUN characters (which may change the count by about a token a cut).
 */

/** Longer than o200k's longest token (128 characters), short enough for the quadratic merge to be cheap. */
const MAX_RUN = 256
/** About the text handed to the tokenizer in one call. */
export const PIECE_CHARS = 4096

/**
 * `text` in pieces of about PIECE_CHARS, none holding more than MAX_RUN characters between two places where
 * o200k's pre-tokenizer must end a token; a run longer than that is cut every MAX_RUN characters.
 */
export function* bpePieces(text: string): Generator<string> {
  let start = 0
  let lastEnd = 0
  for (let i = 1; i < text.length; i++) {
    if (preTokenEndsBefore(text, i)) {
      lastEnd = i
      if (i - start >= PIECE_CHARS) {
        yield text.slice(start, i)
        start = i
      }
    } else if (i - lastEnd >= MAX_RUN && !insidePair(text, i)) {
      yield text.slice(start, i)
      start = lastEnd = i
    }
  }
  if (start < text.length) yield text.slice(start)
}

const OTHER = 0
const LETTER = 1
const DIGIT = 2
const APOSTROPHE = 0x27
/** The letters after an apostrophe that o200k keeps with the word before it ('s, 't, 're, 've, 'm, 'll, 'd). */
const CONTRACTION_START = /^[stdmlvr]$/i
const asciiKind = (c: number) => (c >= 0x30 && c <= 0x39 ? DIGIT : (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a ? LETTER : OTHER)

/**
 * Whether a pre-token ends between `text[i - 1]` and `text[i]`, whatever surrounds them: after an ASCII letter
 * (a word, which only a letter, a mark or an apostrophe's contraction continues) or an ASCII digit (a group of
 * digits), before an ASCII character of another kind that begins no contraction. The regex has no look-behind,
 * so the text from `i` on splits as it would whole: cutting there leaves the count as it was.
 */
function preTokenEndsBefore(text: string, i: number): boolean {
  const before = asciiKind(text.charCodeAt(i - 1))
  const at = text.charCodeAt(i)
  if (before === OTHER || at >= 0x80 || asciiKind(at) === before) return false
  return at !== APOSTROPHE || before === DIGIT || !CONTRACTION_START.test(text.charAt(i + 1))
}

/**
 * Whether `text[i]` is the second half of a surrogate pair (cutting there would split one character). A lone low
 * surrogate is a character of its own: a run of them must be cut like any other, or it reaches the merge whole.
 */
const insidePair = (text: string, i: number) => isLowSurrogate(text.charCodeAt(i)) && isHighSurrogate(text.charCodeAt(i - 1))
const isLowSurrogate = (c: number) => c >= 0xdc00 && c <= 0xdfff
const isHighSurrogate = (c: number) => c >= 0xd800 && c <= 0xdbff
