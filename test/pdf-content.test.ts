import { describe, expect, test } from 'bun:test'
import { drawsIn } from '../src/budget/pdf-content'

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
