/**
 * What a decoded stream may show beyond its own bytes, read without a content stream parser: the forms it draws
 * (each `/Name Do`, a Form XObject's text shown again at each draw). A single linear pass over bytes the caller has
 * already paid to decode; it errs towards more text.
 */
import { CLASS, CR, LF, nameText, PERCENT, REGULAR, SLASH, SPACE } from './pdf-syntax'

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
