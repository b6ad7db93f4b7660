/**
 * A `bfrange` with one destination string maps each code after the first to the string before it with its last byte
 * one higher, carried into the bytes before it (Adobe's CMap tutorial; pypdf steps the destination as one integer).
 * A destination of a surrogate pair, or of U+FFFF, steps across a UTF-16 unit: `<D83D DEFF>` to `<D83D DF00>`, and
 * `<D83D DFFF>` out of the pairs to `<D83D E000>`, `<FFFF>` to `<0001 0000>`. Each code's byte weights must bound
 * the NFKC bytes of the text the carried step gives it: a code point past the plane (4 bytes) over a two-byte code
 * is 2 a byte, not 1.5 as two units of the plane would be.
 */
import { expect, test } from 'bun:test'
import { byteWeights, readCmap } from '../src/budget/pdf-content'

const hex = (n: number, digits: number) => n.toString(16).toUpperCase().padStart(digits, '0')

/** The text a code `step` codes past the first becomes: the destination's bytes plus `step`, carried, read as UTF-16BE. */
function steppedText(destination: string, step: number): string {
  const digits = (BigInt(`0x${destination}`) + BigInt(step)).toString(16).padStart(destination.length, '0')
  const units = digits.padStart(Math.ceil(digits.length / 4) * 4, '0').match(/.{4}/g)!
  return String.fromCharCode(...units.map((u) => parseInt(u, 16)))
}
/** What a tokenizer is sent: NFKC, a lone surrogate as the replacement character. */
const nfkcBytes = (text: string) => Buffer.byteLength(text.normalize('NFKC').toWellFormed(), 'utf8')

const ranges: Array<[low: number, high: number, codeBytes: 1 | 2, destination: string]> = [
  [0x00, 0xff, 1, 'D83DDE00'],
  [0x0000, 0x01ff, 2, 'D83DDE00'],
  [0x0000, 0x0200, 2, 'D83DDE00'],
  [0x0000, 0x0010, 2, 'D83DDFF8'],
  [0x00, 0x02, 1, 'FFFF'],
  [0x0000, 0x0002, 2, 'FFFF'],
  [0x0000, 0x0100, 2, 'FFF0'],
  [0x00, 0x10, 1, 'DBFFDFF8'],
  [0x00, 0x10, 1, '0041FFF8'],
]

test.each(ranges)('every code of <%i>..<%i> (%i bytes) to <%s> weighs at least the NFKC bytes of its stepped text', (low, high, codeBytes, destination) => {
  const weights = byteWeights()
  const cmap = `1 beginbfrange <${hex(low, codeBytes * 2)}> <${hex(high, codeBytes * 2)}> <${destination}> endbfrange`
  expect(readCmap(Buffer.from(cmap, 'latin1'), weights)).toBe(true)
  const under: string[] = []
  for (let code = low; code <= high; code++) {
    const text = steppedText(destination, code - low)
    const weighed = codeBytes === 1 ? weights[code]! : weights[code >> 8]! + weights[code & 0xff]!
    if (weighed < nfkcBytes(text)) under.push(`${hex(code, codeBytes * 2)}: ${weighed} < ${nfkcBytes(text)}`)
  }
  expect(under).toEqual([])
})
