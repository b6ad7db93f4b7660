import { describe, expect, test } from 'bun:test'
import { byteWeights, drawsIn, readCmap, weightedSize } from '../src/budget/pdf-content'

const NAMES = new Map([['X', [5]], ['Im0', [6]], ['Fm 1', [7]]])
const draws = (content: string, names: ReadonlyMap<string, unknown> | null = NAMES, most = 1_000_000) => {
  const d = drawsIn(Buffer.from(content, 'latin1'), names, most)
  return d && { names: Object.fromEntries(d.names), unresolved: d.unresolved, count: d.count }
}

describe('drawsIn: the forms a content stream draws', () => {
  test('each `/Name Do` after an operator draws that name, counted per draw; a stream without `Do` draws nothing', () => {
    expect(draws('q 1 0 0 1 0 0 cm /X Do Q\n/X Do\n/Im0 Do')).toEqual({ names: { X: 2, Im0: 1 }, unresolved: 0, count: 3 })
    expect(draws('/X Do\n'.repeat(300))).toEqual({ names: { X: 300 }, unresolved: 0, count: 300 })
    expect(draws('/X Do/X Do')).toEqual({ names: { X: 2 }, unresolved: 0, count: 2 })
    expect(draws('BT (hello) Tj ET /Done Double')).toBeNull()
  })

  test('names are read as readers read them: `#xx` escapes decoded', () => {
    expect(draws('/#58 Do /Fm#201 Do')).toEqual({ names: { X: 1, 'Fm 1': 1 }, unresolved: 0, count: 2 })
  })

  test('a `Do` whose form cannot be told is unresolved: another operand, two names, a comment that may hide one, a name no dictionary defines', () => {
    expect(draws('(x) Do 1 Do [/X] Do <</X 1>> Do [/X Do]')).toEqual({ names: {}, unresolved: 5, count: 5 })
    // pypdf takes the first operand, pdf.js the last: `/Big /X Do` may draw either.
    expect(draws('/Im0 /X Do /Im0/X Do true /X Do')).toEqual({ names: {}, unresolved: 3, count: 3 })
    expect(draws('/Im0 % a comment\n/X Do')).toEqual({ names: {}, unresolved: 1, count: 1 })
    expect(draws('/Other Do')).toEqual({ names: {}, unresolved: 1, count: 1 })
    expect(draws('/X Do', null)).toEqual({ names: {}, unresolved: 1, count: 1 })
    // A comment on the line before may hide the real operand: unresolved, though this one hides none.
    expect(draws('q % note\n/X Do')).toEqual({ names: {}, unresolved: 1, count: 1 })
  })

  test('a `Do` in a string or a comment counts all the same (more, never less), but `(Do` is never an operator', () => {
    expect(draws('BT (Please. Do it) Tj ET')).toEqual({ names: {}, unresolved: 1, count: 1 })
    expect(draws('BT [(Do)-250(not)] TJ ET')).toBeNull()
  })

  test('it stops past `most` Do operators', () => {
    expect(draws('/X Do\n'.repeat(1_000), NAMES, 10)!.count).toBe(11)
  })
})

const cmap = (body: string) => {
  const weights = byteWeights()
  return readCmap(Buffer.from(`/CIDInit /ProcSet findresource begin 12 dict begin begincmap ${body} endcmap end end`, 'latin1'), weights) ? weights : null
}
const utf16 = (text: string) => Buffer.from(text, 'utf16le').swap16().toString('hex')

describe('readCmap: what a ToUnicode CMap makes of a string byte', () => {
  test('one byte of text per code weighs nothing more; a code of 240 characters weighs 240 on its byte, half on each hex digit, 240 on an escape', () => {
    expect(cmap(`2 beginbfchar <41> <0041> <42> <0042> endbfchar 1 beginbfrange <00> <7F> <0000> endbfrange`)).toEqual(byteWeights())
    const w = cmap(`1 beginbfchar <01> <${utf16('the '.repeat(60))}> endbfchar`)!
    expect([w[0x01], w['0'.charCodeAt(0)], w['f'.charCodeAt(0)], w['\\'.charCodeAt(0)], w['G'.charCodeAt(0)]]).toEqual([240, 120, 120, 240, 1])
  })

  test('a ligature (`ffi`) weighs 3; a two-byte code of one CJK character (3 bytes) 1.5 a byte; `<0001>` is matched by the byte 01', () => {
    expect(cmap(`1 beginbfchar <0E> <006600660069> endbfchar`)![0x0e]).toBe(3)
    expect(cmap(`1 beginbfrange <4E00> <4EFF> <4E00> endbfrange`)).toEqual(byteWeights().fill(1.5))
    expect(cmap(`1 beginbfchar <0001> <${utf16('abcd')}> endbfchar`)![0x01]).toBe(4)
    // Two bytes of a code that may be any two: every byte value carries half.
    expect(cmap(`1 beginbfchar <0103> <${utf16('abcd')}> endbfchar`)![0x77]).toBe(2)
  })

  test('a destination weighs the UTF-8 bytes of its NFKC form where they are more, as the input estimate counts text', () => {
    // U+FDFA (3 bytes) is 33 in NFKC, U+2A0C (3) 12: as Claude's tokenizer reads them.
    expect(cmap(`2 beginbfchar <01> <FDFA> <02> <2A0C> endbfchar`)!.slice(1, 3)).toEqual(new Float64Array([33, 12]))
    // A range of one-byte codes weighs each code by its own text: a Latin-1 font's é 2, ¼ ("1⁄4") 5, Z 1.
    const latin1 = cmap(`1 beginbfrange <00> <FF> <0000> endbfrange`)!
    expect([latin1[0x5a], latin1[0xe9], latin1[0xbc]]).toEqual([1, 2, 5])
    // Wider codes: every byte by the most a code of the range becomes (U+FDFA at its end), over the code's bytes.
    expect(cmap(`1 beginbfrange <0100> <01FA> <FD00> endbfrange`)![0x5a]).toBe(33 / 2)
    // Code points past the plane, a pair of surrogates its last character's range: 𝐀 (4 bytes) is A in NFKC.
    expect(cmap(`1 beginbfrange <0100> <0119> <D835DC00> endbfrange`)![0x5a]).toBe(2)
  })

  test('a range weighs each code of it, by its largest destination', () => {
    const w = cmap(`1 beginbfrange <10> <12> [<0041> <${utf16('ab')}> <${utf16('abcdef')}>] endbfrange`)!
    expect([w[0x0f], w[0x10], w[0x12], w[0x13]]).toEqual([1, 6, 6, 1])
  })

  test('a section it cannot read is null: the text is unbounded', () => {
    expect(cmap('1 beginbfchar <01> /fi endbfchar')).toBeNull()
    expect(cmap('1 beginbfchar <01> <0041> <02> endbfchar')).toBeNull()
    expect(cmap('1 beginbfchar <01> <00zz> endbfchar')).toBeNull()
    expect(cmap('1 beginbfrange <01> <02> [<0041> endbfrange')).toBeNull()
    expect(cmap('1 beginbfchar <01> <0041>')).toBeNull()
  })

  test('weightedSize counts each byte at its weight', () => {
    const w = cmap(`1 beginbfchar <01> <${utf16('abc')}> endbfchar`)!
    expect(weightedSize(Buffer.from('(\x01\x01) Tj'), w)).toBe(3 + 3 + 5)
  })
})
