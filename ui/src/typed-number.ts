import { PLAIN_SPELLING, plainNumber, type PlainKind } from '../../src/cli/plain-number'

/**
 * A number field's value for the API: null when left empty, else spelt as the CLI takes it, or refused
 * naming the field (the form shows the message and sends nothing). A decimal comma ("1,5") is refused,
 * never read as 15 or guessed at.
 */
export function typedNumber(label: string, text: string, kind: PlainKind = 'usd'): number | null {
  if (text.trim() === '') return null
  const n = plainNumber(text, kind)
  if (n === null) throw new Error(`${label} must be ${PLAIN_SPELLING[kind]}, not ${JSON.stringify(text)}.`)
  return n
}
