import { expect, test } from 'bun:test'
import { UnhandedText } from '../src/translate/unhanded-text'

/** Every piece `take` gives, until nothing is left. */
function pieces(texts: string[], max: number): Uint8Array[] {
  const unhanded = new UnhandedText()
  for (const text of texts) unhanded.add(text)
  const out: Uint8Array[] = []
  while (!unhanded.empty) out.push(unhanded.take(max))
  return out
}

test('converted text is handed in pieces of at most the bound, whole once joined, pairs never split', () => {
  // A piece's end falls inside a pair (65,535 ASCII, then 😀), and inside a text.
  const texts = ['a'.repeat(65_535) + '😀' + 'a'.repeat(70_000), 'é😀'.repeat(30_001), 'data: x\n\n', '😀'.repeat(20_000) + 'z']
  const got = pieces(texts, 64 * 1024)
  expect(got.every((piece) => piece.length > 0 && piece.length <= 64 * 1024)).toBe(true)
  expect(new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(got))).toBe(texts.join(''))
})

test('small texts are handed together, in one piece', () => {
  expect(pieces(['event: a\n\n', '', 'event: b\n\n'], 64 * 1024).map((piece) => new TextDecoder().decode(piece))).toEqual(['event: a\n\nevent: b\n\n'])
})

test('a text written a piece at a time is handed in order with the texts around it, and written only as it is reached', () => {
  const unhanded = new UnhandedText()
  let reached = false
  function* written() {
    reached = true
    yield 'x'.repeat(50_000)
    yield ''
    yield 'y'.repeat(50_000)
  }
  unhanded.add(['before ', () => written(), ' after'])
  expect(reached).toBe(false)
  const first = unhanded.take(1024)
  expect(new TextDecoder().decode(first)).toBe('before ' + 'x'.repeat(1017))
  const out: Uint8Array[] = [first]
  while (!unhanded.empty) out.push(unhanded.take(64 * 1024))
  expect(out.every((piece) => piece.length <= 64 * 1024)).toBe(true)
  expect(new TextDecoder().decode(Buffer.concat(out))).toBe('before ' + 'x'.repeat(50_000) + 'y'.repeat(50_000) + ' after')
})
