/**
 * What a decoded stream may show beyond its own bytes, read without a content stream parser: the forms it draws
 * (each `/Name Do`, a Form XObject's text shown again at each draw) and, from the fonts' `/ToUnicode` CMaps, how
 * many bytes of text each byte of a string may become. Single linear passes over bytes the caller has already paid
 * to decode; all err towards more text.
 */
import { MOST_NFKC_BYTES_PER_UNIT, nfkcBoundBytes, nfkcBoundBytesOfRange } from './nfkc-bytes'
import { CLASS, CR, LF, nameText, PERCENT, REGULAR, SLASH, SPACE, hexValue } from './pdf-syntax'

/** The `Do` operators of a stream: by the XObject name each draws, and those whose form cannot be told (`unresolved`). */
export interface Draws {
  names: Map<string, number>
  unresolved: number
  /** Every `Do` read, for the caller's work: past its `most`, the scan stopped there. */
  count: number
}

const DO = Buffer.from('Do')
const OPEN_PAREN = 40

/**
 * Every `Do` token of `content`, wherever it is: in a string or a comment it is counted all the same (more text,
 * never less). A `Do` whose operand is one name after an operator (or the stream's start) draws that name; any
 * other operand (a string, a number, two names: readers disagree on which one they take), a comment that may hide
 * one, or a name no `/XObject` dictionary defines (`names`; null: none is known) leaves it unresolved. `(Do` is
 * inside a string or a comment, never an operator. Stops once it has read more than `most`. Null when there is none.
 */
export function drawsIn(content: Buffer, names: ReadonlyMap<string, unknown> | null, most: number): Draws | null {
  const end = content.length
  let draws: Draws | null = null
  for (let i = content.indexOf(DO); i >= 0; i = content.indexOf(DO, i + 2)) {
    const before = i > 0 ? content[i - 1]! : -1
    if (before >= 0 && (CLASS[before] === REGULAR || before === OPEN_PAREN)) continue
    if (i + 2 < end && CLASS[content[i + 2]!] === REGULAR) continue
    draws ??= { names: new Map(), unresolved: 0, count: 0 }
    if (++draws.count > most) return draws
    const name = names === null ? null : operandName(content, i)
    if (name === null || !names!.has(name)) draws.unresolved++
    else draws.names.set(name, (draws.names.get(name) ?? 0) + 1)
  }
  return draws
}

/** The name a `Do` at `at` draws, when it is the only operand since the operator before it; else null. */
function operandName(c: Buffer, at: number): string | null {
  let crossedLine = false
  let j = at - 1
  for (; j >= 0 && CLASS[c[j]!] === SPACE; j--) if (c[j] === LF || c[j] === CR) crossedLine = true
  const nameEnd = j + 1
  while (j >= 0 && CLASS[c[j]!] === REGULAR) j--
  if (j < 0 || c[j] !== SLASH) return null
  const nameStart = j + 1
  for (j--; j >= 0 && CLASS[c[j]!] === SPACE; j--) if (c[j] === LF || c[j] === CR) crossedLine = true
  if (j >= 0) {
    if (CLASS[c[j]!] !== REGULAR) return null
    const opEnd = j + 1
    while (j >= 0 && CLASS[c[j]!] === REGULAR) j--
    if (j >= 0 && c[j] === SLASH) return null
    if (!isOperator(c, j + 1, opEnd)) return null
    // Across a line end, the operator may sit in a comment that hides the real operand before it.
    if (crossedLine && commentBefore(c, j + 1)) return null
  }
  return nameText(c, nameStart, nameEnd)
}

/** Whether `c[from, to)` is an operator: a keyword (`cm`, `Q`, `Do`, `'`...), not a number nor `true`, `false`, `null`. */
function isOperator(c: Buffer, from: number, to: number): boolean {
  const first = c[from]!
  const letter = (first >= 65 && first <= 90) || (first >= 97 && first <= 122) || first === 39 || first === 34
  if (!letter) return false
  const word = to - from <= 5 ? c.toString('latin1', from, to) : ''
  return word !== 'true' && word !== 'false' && word !== 'null'
}

/** Whether a `%` comes before `at` on its line. */
function commentBefore(c: Buffer, at: number): boolean {
  for (let j = at - 1; j >= 0 && c[j] !== LF && c[j] !== CR; j--) if (c[j] === PERCENT) return true
  return false
}

const BEGINBFCHAR = Buffer.from('beginbfchar')
const BEGINBFRANGE = Buffer.from('beginbfrange')
const ENDBFCHAR = Buffer.from('endbfchar')
const ENDBFRANGE = Buffer.from('endbfrange')
const BACKSLASH = 92
const HEX_DIGITS = Buffer.from('0123456789abcdefABCDEF')

/** The bytes of text each byte value of a content stream may become: 1 each, until a CMap says more (`readCmap`). */
export const byteWeights = (): Float64Array => new Float64Array(256).fill(1)

/** A stream's bytes, each counted at its weight: what its strings may become, on top of the operators around them. */
export function weightedSize(content: Buffer, weights: Float64Array): number {
  let n = 0
  for (let i = 0; i < content.length; i++) n += weights[content[i]!]!
  return n
}

/**
 * Raises `weights` to what a ToUnicode CMap's `bfchar` and `bfrange` entries make of a code: a destination of u
 * bytes of text (its UTF-8 bytes, or its NFKC form's if more, as the input estimate counts text: U+FDFA is 33), for
 * a code whose value takes k bytes (readers match codes by value: `<0001>` is matched by the one byte 01), is u/k on
 * each byte a string may write that code with: the code's own bytes in a literal string (every byte value when
 * k > 1 or the range is wide), each `\` escape, and u/2k on each hex digit of a hex string. 240 characters of
 * ASCII for the code 01 weigh 240 on the byte 01; a ligature (`ffi`) 3; a CJK character of two bytes 1.5. False when a section does not read as hex strings (and arrays of them, in a range) between its
 * keywords: the text is unbounded.
 */
export function readCmap(cmap: Buffer, weights: Float64Array): boolean {
  let i = 0
  // Where each keyword next stands, looked for again only once passed: a keyword the map never has would
  // otherwise be searched for to its end once a section, quadratic in its size (a few kB of Flate, seconds).
  let char = -2
  let range = -2
  for (;;) {
    if (char !== -1 && char < i) char = cmap.indexOf(BEGINBFCHAR, i)
    if (range !== -1 && range < i) range = cmap.indexOf(BEGINBFRANGE, i)
    if (char < 0 && range < 0) return true
    const isRange = range >= 0 && (char < 0 || range < char)
    const from = isRange ? range + BEGINBFRANGE.length : char + BEGINBFCHAR.length
    const endWord = isRange ? ENDBFRANGE : ENDBFCHAR
    const to = cmap.indexOf(endWord, from)
    if (to < 0 || !readSection(cmap, from, to, isRange, weights)) return false
    i = to + endWord.length
  }
}

// The hex string read last (`readHex`): its digits (white-space skipped), leading zero digits, and value (while it fits).
let hexDigits = 0
let hexLeadingZeros = 0
let hexNumber = 0
/** Reads the hex string at `i` (its `<`); returns where it ends, or -1 when it holds anything else or does not close before `to`. */
function readHex(b: Buffer, i: number, to: number): number {
  hexDigits = 0
  hexLeadingZeros = 0
  hexNumber = 0
  for (i++; i < to; i++) {
    const c = b[i]!
    if (c === 62) { // >
      if (hexDigits % 2 === 1) hexNumber *= 16 // an odd last digit is followed by 0
      return i + 1
    }
    if (CLASS[c] === SPACE) continue
    const v = hexValue(c)
    if (v < 0) return -1
    if (v === 0 && hexLeadingZeros === hexDigits) hexLeadingZeros++
    hexDigits++
    if (hexNumber < 2 ** 32) hexNumber = hexNumber * 16 + v
  }
  return -1
}

/** The bytes a code's value takes (at least one): `<0001>` one, `<0103>` two. */
const codeBytes = () => Math.max(1, Math.ceil((hexDigits + (hexDigits % 2) - hexLeadingZeros) / 2))
/** The text of the destination string `b[from, to)` (hex digits of UTF-16BE; an odd last digit is followed by 0). */
function destinationText(b: Buffer, from: number, to: number): string {
  const digits: number[] = []
  for (let i = from + 1; i < to - 1; i++) if (CLASS[b[i]!] !== SPACE) digits.push(hexValue(b[i]!))
  if (digits.length % 4 !== 0) digits.push(...[0, 0, 0].slice(0, 4 - (digits.length % 4)))
  let text = ''
  for (let i = 0; i < digits.length; i += 4) text += String.fromCharCode((digits[i]! << 12) | (digits[i + 1]! << 8) | (digits[i + 2]! << 4) | digits[i + 3]!)
  return text
}

/** The bytes a destination may become: its text's UTF-8 bytes, or its NFKC form's if more, as a tokenizer may read it. */
const destinationBytes = (b: Buffer, from: number, to: number) => nfkcBoundBytes(destinationText(b, from, to))

/**
 * The most bytes a `bfrange` destination `text` becomes for its codes `first` to `last` (counted from the range's
 * first code): each code's text the one before it with its last character one higher (a low surrogate after a high
 * one: the code points of that pair). Past the last character a reader carries into the one before: then any text
 * of its length.
 */
function rangeTextBytes(text: string, first: number, last: number): number {
  if (text.length === 0) return 0
  const lastUnit = text.charCodeAt(text.length - 1)
  const high = text.length > 1 ? text.charCodeAt(text.length - 2) : 0
  const paired = high >= 0xd800 && high <= 0xdbff && lastUnit >= 0xdc00 && lastUnit <= 0xdfff
  if (lastUnit + last > (paired ? 0xdfff : 0xffff)) return text.length * MOST_NFKC_BYTES_PER_UNIT
  if (!paired) return nfkcBoundBytesOfRange(text.slice(0, -1), lastUnit + first, lastUnit + last)
  const base = 0x10000 + ((high - 0xd800) << 10) - 0xdc00
  return nfkcBoundBytesOfRange(text.slice(0, -2), base + lastUnit + first, base + lastUnit + last)
}

/**
 * Raises the weights of a `bfrange` of one destination: a code of one byte by its own text (a Latin-1 font's range
 * weighs `é` 2 and `¼` 5, not every byte 5), wider codes all by the most any code of the range becomes.
 */
function raiseRange(weights: Float64Array, low: number, high: number, bytes: number, text: string): void {
  const most = rangeTextBytes(text, 0, high - low)
  if (bytes > 1 || high > 255 || most <= 1) return raise(weights, low, high, bytes, most)
  for (let v = low; v <= high; v++) weights[v] = Math.max(weights[v]!, rangeTextBytes(text, v - low, v - low))
  raiseEscapes(weights, most)
}

/** Raises the weights of the bytes that may write codes `low` to `high` (one byte each when `bytes` is 1) to `text` bytes of text. */
function raise(weights: Float64Array, low: number, high: number, bytes: number, text: number): void {
  const perByte = text / bytes
  if (perByte <= 1) return
  if (bytes > 1 || high > 255) {
    low = 0
    high = 255
  }
  for (let v = low; v <= high; v++) weights[v] = Math.max(weights[v]!, perByte)
  raiseEscapes(weights, perByte)
}

/** Raises the weights of a `\` escape and, by half, of each hex digit, to `perByte`: either may write a code's byte. */
function raiseEscapes(weights: Float64Array, perByte: number): void {
  weights[BACKSLASH] = Math.max(weights[BACKSLASH]!, perByte)
  for (const d of HEX_DIGITS) weights[d] = Math.max(weights[d]!, perByte / 2)
}

/** Pairs `<src> <dst>` (bfchar) or triples `<lo> <hi> <dst>` / `<lo> <hi> [<dst>...]` (bfrange). */
function readSection(b: Buffer, from: number, to: number, range: boolean, weights: Float64Array): boolean {
  const arity = range ? 3 : 2
  let position = 0
  let bytes = 1
  let low = 0
  let high = 0
  let i = from
  while (i < to) {
    const c = b[i]!
    if (CLASS[c] === SPACE) {
      i++
      continue
    }
    if (c === 60) { // <
      const start = i
      i = readHex(b, i, to)
      if (i < 0) return false
      if (position === 0) {
        bytes = codeBytes()
        low = high = hexNumber
      } else if (position === 1 && range) high = Math.max(low, hexNumber)
      else if (range) raiseRange(weights, low, high, bytes, destinationText(b, start, i))
      else raise(weights, low, high, bytes, destinationBytes(b, start, i))
    } else if (c === 91 && position === 2 && range) { // [: a destination for each code of the range
      let most = 0
      for (i++; ; ) {
        while (i < to && CLASS[b[i]!] === SPACE) i++
        if (i >= to || (b[i] !== 93 && b[i] !== 60)) return false
        if (b[i] === 93) break // ]
        const start = i
        i = readHex(b, i, to)
        if (i < 0) return false
        most = Math.max(most, destinationBytes(b, start, i))
      }
      i++
      raise(weights, low, high, bytes, most)
    } else return false
    position = (position + 1) % arity
  }
  return position === 0
}
